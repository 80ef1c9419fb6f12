"""The images behind one confusion-matrix cell, and fixing them: relabel or remove from the dataset."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from webapp.core.ids import parse_id
from webapp.core.ownership import get_visible_or_404
from webapp.datasets.models import Dataset
from webapp.runs.services.access import get_evaluation
from webapp.runs.services.retrain import can_retrain
from webapp.runs.templatetags.runs_format import pct
from webapp.runs.views.tiles import class_options, per_image

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
    classes = list(dataset.classes.all())
    # "Accept the prediction" moves a misclassified image to the dataset's class of the predicted name, if any.
    predicted = next((c for c in classes if c.name == names[pred]), None) if true != pred else None
    # Made once a page, filled in per tile: a tile's cost must not grow the page 30× from 2 tiles to 60.
    thumbnail = per_image("image_thumbnail", "image_pk", pk=dataset.pk)
    detail = per_image("image_detail", "image_pk", pk=dataset.pk)
    relabel_url = per_image("gallery_relabel", "image_id", pk=evaluation.pk)
    remove_url = per_image("gallery_remove", "image_id", pk=evaluation.pk)
    options = class_options(classes)
    items = []
    for prediction in page:
        image = prediction.image
        items.append({
            "prediction": prediction,
            "image": image,
            "name": str(image),
            "id": str(image.pk),
            "thumbnail": thumbnail(image.pk),
            "detail_url": detail(image.pk),
            "relabel_url": relabel_url(image.pk),
            "remove_url": remove_url(image.pk),
            "options": options(image.label_id),
            "current_label": image.label.name if image.label_id else None,
            "relabelled": bool(image.label_id) and image.label.name != names[prediction.true_index],
            "deleted": image.deleted_at is not None,
            "accept": predicted if predicted is not None and image.label_id != predicted.pk else None,
            "confidence": pct(prediction.confidence), "bar": round(prediction.confidence * 100),
            "top5": [{"name": names[int(index)] if int(index) < len(names) else str(index), "p": p, "pct": pct(p)}
                     for index, p in prediction.top5],
        })
    return render(request, "runs/gallery.html", {
        "evaluation": evaluation, "run": evaluation.run, "true": true, "pred": pred,
        "true_name": names[true], "pred_name": names[pred], "page": page, "items": items,
        "total": page.paginator.count, "classes": classes, "dataset": dataset,
        "can_retrain": can_retrain(evaluation.run), "next": request.get_full_path(),
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
    """Move one image of the gallery to another class of its dataset (the frozen version is untouched);
    with `accept`, to the class the run predicted, recorded as its suggestion accepted."""
    from webapp.datasets.services.bulk import relabel
    from webapp.datasets.signals import ACCEPTED, BY_HAND

    evaluation, dataset, image = _editable_image(request, pk, image_id)
    label = dataset.classes.filter(pk=parse_id(request.POST.get("label")) or 0).first()
    if label is None:
        messages.error(request, "Pick one of the dataset's classes to move the image to.")
        return _back(request, evaluation)
    origin, model_ref = BY_HAND, ""
    if request.POST.get("accept"):
        index = evaluation.predictions.filter(image_id=image.pk).values_list("predicted_index", flat=True)[0]
        predicted = evaluation.class_names[index] if index < len(evaluation.class_names) else str(index)
        if label.name != predicted:
            messages.error(request, f"The run predicted {predicted}, not {label.name}; nothing was changed.")
            return _back(request, evaluation)
        if evaluation.run_id:  # the model that suggested it; an evaluation without a run names none
            origin, model_ref = ACCEPTED, f"run:{evaluation.run_id}"
    relabel(dataset, [image.pk], label, user=request.user, origin=origin, model_ref=model_ref)
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

