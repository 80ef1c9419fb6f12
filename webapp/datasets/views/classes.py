"""The classes page: create, rename, merge and delete a dataset's classes."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from webapp.datasets.forms import ClassDeleteForm, ClassMergeForm, ClassNameForm
from webapp.datasets.models import Split
from webapp.datasets.services import classes as class_services
from webapp.datasets.services.access import class_for, dataset_for, live_images

LIVE = Q(images__deleted_at__isnull=True)


def _page(request, dataset, *, create=None, merge=None, status=200):
    split_counts = {f"n_{s}": Count("images", filter=LIVE & Q(images__split=s)) for s in Split.values}
    rows = dataset.classes.annotate(n_images=Count("images", filter=LIVE), **split_counts)
    context = {
        "dataset": dataset,
        "tab": "classes",
        "classes": rows,
        "splits": Split.values,
        "unlabelled": live_images(dataset).filter(label__isnull=True).count(),
        "create_form": create or ClassNameForm(dataset=dataset, prefix="create"),
        "merge_form": merge or ClassMergeForm(dataset=dataset, prefix="merge"),
    }
    return render(request, "datasets/classes.html", context, status=status)


def _done(request, dataset, message: str):
    """Say what changed and go back to the classes page."""
    messages.success(request, message)
    return redirect("class_list", pk=dataset.pk)


def _apply(form, field, action):
    """Run a service call; put a ValidationError it raises beside `field`. Return whether it worked."""
    try:
        action()
    except ValidationError as exc:
        form.add_error(field, exc)
        return False
    return True


@require_GET
def class_list(request, pk):
    """List the classes with their image counts per split."""
    return _page(request, dataset_for(request.user, pk))


def _back_to(request, dataset) -> str | None:
    """Return the browse or upload page a "New class" form came from (only those: never an open redirect)."""
    target = request.POST.get("next", "")
    pages = [reverse(name, args=[dataset.pk]) for name in ("dataset_browse", "dataset_upload")]
    return target if any(target.startswith(page) for page in pages) else None


@require_POST
def class_create(request, pk):
    """Add a class; from the browse or upload page, go back there (the upload page with the new class chosen)."""
    dataset = dataset_for(request.user, pk)
    form = ClassNameForm(request.POST, dataset=dataset, prefix="create")
    name = form.cleaned_data["name"] if form.is_valid() else None
    created = []
    if name and _apply(form, "name", lambda: created.append(class_services.create_class(dataset, name))):
        back = _back_to(request, dataset)
        if back is None:
            return _done(request, dataset, f"Class “{name}” added.")
        messages.success(request, f"Class “{name}” added.")
        if back.startswith(reverse("dataset_upload", args=[dataset.pk])):
            back = f"{reverse('dataset_upload', args=[dataset.pk])}?label={created[0].pk}"
        return redirect(back)
    back = _back_to(request, dataset)
    if back is not None:  # say what is wrong on the page the person is on
        problems = [e for errors in form.errors.values() for e in errors]
        messages.error(request, "The class was not added: " + " ".join(problems))
        return redirect(back)
    return _page(request, dataset, create=form, status=400)


@require_http_methods(["GET", "POST"])
def class_rename(request, pk, class_pk):
    """Rename a class (frozen versions keep the old name)."""
    dataset = dataset_for(request.user, pk)
    cls = class_for(dataset, class_pk)
    old = cls.name
    form = ClassNameForm(request.POST or None, dataset=dataset, instance=cls)
    if request.method == "POST" and form.is_valid():
        new = form.cleaned_data["name"]
        if _apply(form, "name", lambda: class_services.rename_class(cls, new)):
            return _done(request, dataset, f"Class “{old}” renamed to “{new}”.")
    return render(request, "datasets/class_rename.html",
                  {"dataset": dataset, "tab": "classes", "cls": cls, "form": form})


@require_POST
def class_merge(request, pk):
    """Move every image of one class into another and remove the first."""
    dataset = dataset_for(request.user, pk)
    form = ClassMergeForm(request.POST, dataset=dataset, prefix="merge")
    if form.is_valid():
        source, target = form.cleaned_data["source"], form.cleaned_data["target"]
        name = source.name
        if _apply(form, "target", lambda: class_services.merge_classes(source, target, user=request.user)):
            return _done(request, dataset, f"Class “{name}” merged into “{target.name}”.")
    return _page(request, dataset, merge=form, status=400)


@require_http_methods(["GET", "POST"])
def class_delete(request, pk, class_pk):
    """Ask how, then delete a class: with its images, or keeping them as unlabelled."""
    dataset = dataset_for(request.user, pk)
    cls = class_for(dataset, class_pk)
    form = ClassDeleteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        delete_images = form.cleaned_data["images"] == "delete"
        name = cls.name
        if _apply(form, "images", lambda: class_services.delete_class(cls, delete_images=delete_images,
                                                                         user=request.user)):
            done = "and its images deleted" if delete_images else "deleted; its images are now unlabelled"
            return _done(request, dataset, f"Class “{name}” {done}.")
    n_images = live_images(dataset).filter(label=cls).count()
    return render(request, "datasets/class_delete.html",
                  {"dataset": dataset, "tab": "classes", "cls": cls, "form": form, "n_images": n_images})
