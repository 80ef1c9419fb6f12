"""Accept suggestions many at a time: every one of a class above a confidence (after a preview), or a grid
page's choices in one action; and undo such a batch as one step."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from webapp.core.ids import parse_id
from webapp.labelling.forms import BulkForm, GridForm
from webapp.labelling.models import LabelBatch
from webapp.labelling.services import batches, prelabel
from webapp.labelling.services.access import dataset_for
from webapp.labelling.services.label import Conflict


def _context(dataset, job, **extra) -> dict:
    recent = LabelBatch.objects.filter(dataset=dataset).select_related("user")[:10]
    return {"dataset": dataset, "tab": "label", "job": job, "classes": dataset.classes.all(), "batches": recent,
            **extra}


def _no_job(request, dataset):
    messages.error(request, "Run a pre-label job first: there are no suggestions to accept yet.")
    return redirect("label_page", pk=dataset.pk)


@require_http_methods(["GET", "POST"])
def bulk(request, pk):
    """GET: the form, and with ?label=&min_confidence= the count and a sample; POST: apply as one batch."""
    dataset = dataset_for(request.user, pk)
    job = prelabel.latest_job(dataset)
    if job is None:
        return _no_job(request, dataset)
    data = request.POST if request.method == "POST" else request.GET
    if request.method == "GET" and "label" not in data:
        return render(request, "labelling/bulk.html", _context(dataset, job, form=BulkForm()))
    form = BulkForm(data)
    label = dataset.classes.filter(pk=form.cleaned_data["label"]).first() if form.is_valid() else None
    if form.is_valid() and label is None:
        form.add_error("label", "That class is not in this dataset any more (deleted?).")
    if not form.is_valid():
        return render(request, "labelling/bulk.html", _context(dataset, job, form=form), status=400)
    threshold = form.cleaned_data["min_confidence"] / 100
    if request.method == "GET":
        shown = batches.preview(dataset, job, label, threshold)
        return render(request, "labelling/bulk.html", _context(dataset, job, form=form, preview=shown))
    if form.cleaned_data["count"] is None:
        messages.error(request, "Preview the images first: the count they showed is missing.")
        return redirect("label_bulk", pk=dataset.pk)
    try:
        batch = batches.accept_above(dataset, job, label, threshold, expected_count=form.cleaned_data["count"],
                                     user=request.user)
    except ValidationError as e:  # Conflict included: the preview is out of date
        messages.error(request, " ".join(e.messages))
        return redirect("label_bulk", pk=dataset.pk)
    messages.success(request, f"Labelled {batch.count} images as {batch.label_name} (batch {batch.pk}); "
                              "undo it below if that was a mistake.")
    return redirect("label_bulk", pk=dataset.pk)


@require_POST
def undo_batch(request, pk, batch_pk):
    """Undo one batch as one step."""
    dataset = dataset_for(request.user, pk)
    batch = batches.batch_for(dataset, batch_pk)
    try:
        outcome = batches.undo_batch(dataset, batch)
    except Conflict as e:
        messages.error(request, " ".join(e.messages))
    else:
        kept = f"; {outcome['kept']} labelled again since were left as they are" if outcome["kept"] else ""
        messages.success(request, f"Undone: {outcome['undone']} images are unlabelled again{kept}.")
    return redirect("label_bulk", pk=dataset.pk)


@require_http_methods(["GET", "POST"])
def grid(request, pk):
    """A page of images the model suggests for one class: tick the right ones, and confirm them all at once."""
    dataset = dataset_for(request.user, pk)
    job = prelabel.latest_job(dataset)
    if job is None:
        return _no_job(request, dataset)
    if request.method == "POST":
        return _grid_apply(request, dataset, job)
    wanted = request.GET.get("label")
    label = dataset.classes.filter(pk=parse_id(wanted) or 0).first() if wanted else dataset.classes.first()
    if label is None:
        return render(request, "labelling/bad_scope.html", {"dataset": dataset, "tab": "label",
                                                            "message": "Choose a class of this dataset."},
                      status=400)
    tiles = batches.grid(dataset, job, label)
    return render(request, "labelling/grid.html", _context(dataset, job, label=label, tiles=tiles,
                                                           left=batches.candidates(dataset, job, label).count()))


def _grid_apply(request, dataset, job):
    form = GridForm({"label": request.POST.get("label"), "shown": request.POST.getlist("shown"),
                     "accept": request.POST.getlist("accept")})
    label = dataset.classes.filter(pk=form.cleaned_data["label"]).first() if form.is_valid() else None
    back = reverse("label_grid", args=[dataset.pk]) + (f"?label={label.pk}" if label else "")
    if label is None:
        messages.error(request, "That class is not in this dataset any more (deleted?); nothing was changed."
                       if form.is_valid() else "Send the grid's images and the class.")
        return redirect(back)
    accept = [pk for pk in form.cleaned_data["accept"] if pk in form.cleaned_data["shown"]]
    reject = [pk for pk in form.cleaned_data["shown"] if pk not in accept]
    try:
        batch, rejected = batches.accept_chosen(dataset, job, label, accept, reject, user=request.user)
    except ValidationError as e:
        messages.error(request, " ".join(e.messages))
        return redirect(back)
    done = f"Labelled {batch.count} images as {label.name} (batch {batch.pk})" if batch else "Labelled none"
    messages.success(request, f"{done}; {rejected} suggestions marked wrong.")
    return redirect(back)
