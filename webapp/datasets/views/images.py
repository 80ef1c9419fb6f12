"""One image: its pixels, facts, the versions and runs that used it, and its class and split."""

from django.contrib import messages
from django.db.models import Min, Q
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from webapp.datasets.forms import UNLABELLED, ImageEditForm
from webapp.datasets.models import VersionEntry
from webapp.datasets.services import bulk
from webapp.datasets.services.access import dataset_for, image_for, live_images
from webapp.datasets.views.history import class_name, runs_by_version
from webapp.labelling.services.history import label_history


def next_unlabelled(dataset, image) -> int | None:
    """Return the id of the next unlabelled live image after `image` (by id, wrapping round), in one query."""
    others = live_images(dataset).filter(label__isnull=True).exclude(pk=image.pk)
    ids = others.aggregate(after=Min("pk", filter=Q(pk__gt=image.pk)), first=Min("pk"))
    return ids["after"] or ids["first"]


@require_http_methods(["GET", "POST"])
def image_detail(request, pk, image_pk):
    """Show one image; on POST, change its class and split."""
    dataset = dataset_for(request.user, pk)
    image = image_for(dataset, image_pk)
    initial = {"label": str(image.label_id) if image.label_id else UNLABELLED, "split": image.split}
    form = ImageEditForm(request.POST or None, dataset=dataset, initial=initial)
    if request.method == "POST" and form.is_valid():
        label, split = form.chosen_class(), form.cleaned_data["split"]
        if label != image.label:
            bulk.relabel(dataset, [image.pk], label, user=request.user)
        if split != image.split:
            bulk.move_to_split(dataset, [image.pk], split)
        messages.success(request, "Image saved.")
        return redirect("image_detail", pk=dataset.pk, image_pk=image.pk)
    entries = list(VersionEntry.objects.filter(image=image).select_related("version").order_by("-version__number"))
    runs = runs_by_version([e.version_id for e in entries])
    uses = [{"version": e.version, "class_name": class_name(e.version, e.class_index), "split": e.split,
             "runs": runs.get(e.version_id, [])} for e in entries]
    context = {"dataset": dataset, "tab": "browse", "image": image, "form": form, "uses": uses,
               "label_history": label_history(image), "next_unlabelled": next_unlabelled(dataset, image),
               "back": request.GET.get("back") or reverse("dataset_browse", args=[dataset.pk])}
    if not context["back"].startswith(reverse("dataset_browse", args=[dataset.pk])):
        context["back"] = reverse("dataset_browse", args=[dataset.pk])
    return render(request, "datasets/image_detail.html", context)
