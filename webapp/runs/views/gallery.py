"""The images behind one confusion-matrix cell, and fixing them: relabel or remove from the dataset."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from webapp.core.ownership import get_visible_or_404
from webapp.datasets.models import Dataset
from webapp.runs.services.access import get_evaluation
from webapp.runs.services.retrain import can_retrain

PER_PAGE = 60


def thumbnail_url(image) -> str:
    """Return the ownership-checked URL of an image's thumbnail (served by the datasets app)."""
    return reverse("image_thumbnail", kwargs={"pk": image.dataset_id, "image_pk": image.pk})


def _class_index(evaluation, value) -> int:
    """Return a class index from the URL, or raise Http404 when it is not one of the evaluation's classes."""
    if not 0 <= int(value) < len(evaluation.class_names):
        raise Http404("No such class.")
    return int(value)


class CellPaginator(Paginator):
    """A paginator told its count, so a page never counts the cell's predictions (thousands at 100,000 images)."""

    def __init__(self, object_list, per_page, count: int | None):
        super().__init__(object_list, per_page)
        if count is not None:
            self.count = count  # shadows Paginator.count (a cached_property)


def cell_count(evaluation, true: int, pred: int) -> int | None:
    """Return the cell's count from the stored confusion matrix (one prediction per counted image), or None."""
    try:
        count = evaluation.metrics["confusion_matrix"][true][pred]
    except (KeyError, IndexError, TypeError):
        return None
    return count if isinstance(count, int) and count >= 0 else None


@require_GET
def evaluation_cell(request, pk, true, pred):
    """Show exactly the images of one confusion-matrix cell, most confident first."""
    evaluation = get_evaluation(request.user, pk, finished=True)
    true, pred = _class_index(evaluation, true), _class_index(evaluation, pred)
    names = evaluation.class_names
    predictions = (evaluation.predictions.filter(true_index=true, predicted_index=pred)
                   .select_related("image__label").order_by("-confidence", "pk"))
    page = CellPaginator(predictions, PER_PAGE, cell_count(evaluation, true, pred)).get_page(request.GET.get("page"))
    dataset = evaluation.version.dataset
    items = []
    for prediction in page:
        image = prediction.image
        items.append({
            "prediction": prediction,
            "image": image,
            "thumbnail": thumbnail_url(image),
            "current_label": image.label.name if image.label_id else None,
            "relabelled": bool(image.label_id) and image.label.name != names[prediction.true_index],
            "deleted": image.deleted_at is not None,
            "top5": [{"name": names[int(index)] if int(index) < len(names) else str(index), "p": p}
                     for index, p in prediction.top5],
        })
    return render(request, "runs/gallery.html", {
        "evaluation": evaluation, "run": evaluation.run, "true": true, "pred": pred,
        "true_name": names[true], "pred_name": names[pred], "page": page, "items": items,
        "total": page.paginator.count, "classes": list(dataset.classes.all()), "dataset": dataset,
        "can_retrain": can_retrain(evaluation.run),
    })


def _editable_image(request, pk, image_id):
    """Return (evaluation, dataset, image) for an image of this evaluation whose dataset the user may change."""
    evaluation = get_evaluation(request.user, pk, finished=True)
    dataset = get_visible_or_404(Dataset, request.user, pk=evaluation.version.dataset_id)
    prediction = evaluation.predictions.select_related("image").filter(image_id=image_id).first()
    if prediction is None or prediction.image.dataset_id != dataset.pk:
        raise Http404("No such image in this evaluation.")
    return evaluation, dataset, prediction.image


def _back(request, evaluation):
    """Return where to go after an action: the gallery the form came from, else the results page."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect("evaluation_detail", pk=evaluation.pk)


@require_POST
def gallery_relabel(request, pk, image_id):
    """Move one image of the gallery to another class of its dataset (the frozen version is untouched)."""
    from webapp.datasets.services.bulk import relabel

    evaluation, dataset, image = _editable_image(request, pk, image_id)
    label = dataset.classes.filter(pk=request.POST.get("label") or 0).first()
    if label is None:
        messages.error(request, "Pick one of the dataset's classes to move the image to.")
        return _back(request, evaluation)
    relabel(dataset, [image.pk], label)
    messages.success(request, f"“{image}” is now labelled {label.name} in {dataset.name}. "
                              f"{evaluation.version} keeps its old label; the next run will use the new one.")
    return _back(request, evaluation)


@require_POST
def gallery_remove(request, pk, image_id):
    """Remove one image of the gallery from its dataset (the frozen version keeps it)."""
    from webapp.datasets.services.bulk import delete_images

    evaluation, dataset, image = _editable_image(request, pk, image_id)
    delete_images(dataset, [image.pk])
    messages.success(request, f"“{image}” was removed from {dataset.name}. {evaluation.version} still holds it.")
    return _back(request, evaluation)

