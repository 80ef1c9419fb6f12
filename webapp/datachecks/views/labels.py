"""Check labels: a job that trains small models by k-fold, and the ranked gallery of images whose label looks wrong."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from webapp.core.errors import FieldError
from webapp.core.ids import parse_id
from webapp.datachecks.forms import LabelActionForm, LabelCheckForm
from webapp.datachecks.models import CheckKind, DataCheck
from webapp.datachecks.services import checks, labels
from webapp.datachecks.services.access import dataset_for
from webapp.datachecks.services.present import check_payload


def _page(request, dataset, *, status: int = 200):
    check = checks.latest(dataset, kind=CheckKind.LABELS)
    wanted = parse_id(request.GET.get("check")) if request.method == "GET" else None
    if wanted:
        check = DataCheck.objects.filter(dataset=dataset, kind=CheckKind.LABELS, pk=wanted).first() or check
    context = {
        "dataset": dataset, "tab": "checks", "form": LabelCheckForm(dataset=dataset),
        "check": check, "job": check_payload(check),
        "suspects": labels.suspects(check) if check is not None and check.status == "succeeded" else [],
    }
    return render(request, "datachecks/labels.html", context, status=status)


@require_GET
def labels_page(request, pk):
    """Show the latest label check of the dataset and its suspects, most suspect first."""
    return _page(request, dataset_for(request.user, pk))


@require_POST
def labels_start(request, pk):
    """Queue a label check of a version on the GPU queue."""
    dataset = dataset_for(request.user, pk)
    form = LabelCheckForm(request.POST, dataset=dataset)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return _page(request, dataset, status=400)
    try:
        check = labels.start_label_check(dataset, request.user, form.cleaned_data["version"])
    except FieldError as exc:
        messages.error(request, exc.message)
        return _page(request, dataset, status=exc.status)
    messages.success(request, f"Label check {check.pk} of v{check.version.number} is queued: it trains "
                              f"{labels.FOLDS} small models, each scoring the images it never saw.")
    return redirect("datachecks_labels", pk=dataset.pk)


@require_POST
def labels_act(request, pk):
    """Relabel a suspect as suggested, keep its label, or remove it, then show the gallery again."""
    dataset = dataset_for(request.user, pk)
    form = LabelActionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Nothing was changed: " + " ".join(e for errors in form.errors.values()
                                                                  for e in errors))
        return _page(request, dataset, status=400)
    check = DataCheck.objects.filter(dataset=dataset, kind=CheckKind.LABELS, pk=form.cleaned_data["check"],
                                     status="succeeded").select_related("version", "dataset").first()
    if check is None:
        messages.error(request, "No such finished label check of this dataset; nothing was changed.")
        return _page(request, dataset, status=400)
    try:
        done = labels.act(check, form.cleaned_data["image"], form.cleaned_data["action"], user=request.user)
    except FieldError as exc:
        messages.error(request, exc.message)
        return _page(request, dataset, status=exc.status)
    messages.success(request, done)
    return redirect(f"{reverse('datachecks_labels', args=[dataset.pk])}?check={check.pk}")
