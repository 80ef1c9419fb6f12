"""Label one image (recording how) and undo a label: the class changes go through the datasets services."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from webapp.datasets.models import Dataset, DatasetClass, Image
from webapp.datasets.services import bulk
from webapp.labelling.models import LabelEvent, Origin, Suggestion


class Conflict(ValidationError):
    """The image changed since the page showed it (another tab, another person): nothing was changed."""


def label_image(dataset: Dataset, image_id, class_id, *, expected, user, origin: str = Origin.HAND,
                model_ref: str = "") -> LabelEvent:
    """Put one image in a class, if it is still in class `expected` (None: unlabelled); record the event."""
    if origin not in (Origin.HAND, Origin.SUGGESTION):
        raise ValidationError("Origin must be hand or suggestion (bulk accepts go through a batch).")
    if origin != Origin.HAND and not model_ref:
        raise ValidationError("An accepted suggestion must name its model.")
    with transaction.atomic():
        image = _locked_image(dataset, image_id)
        label = _class(dataset, class_id)
        if image.label_id != expected:
            now = image.label.name if image.label else "unlabelled"
            raise Conflict(f"This image was labelled meanwhile (now {now}); nothing was changed.")
        if origin == Origin.SUGGESTION:
            check_suggestion(image, label, model_ref)
        event = LabelEvent(dataset=dataset, image=image, label=label, label_name=label.name,
                           previous=image.label, previous_name=image.label.name if image.label else "",
                           origin=origin, model_ref=model_ref, user=user if user and user.is_authenticated else None)
        if label.pk != image.label_id:
            bulk.relabel(dataset, [image.pk], label, record=False)  # the event below records it
        event.save()
    return event


def check_suggestion(image: Image, label: DatasetClass, model_ref: str) -> Suggestion:
    """Return the model's live suggestion for the image, if it names `label` still; else refuse."""
    suggestion = (Suggestion.objects.filter(image=image, model_ref=model_ref, rejected_at__isnull=True)
                  .order_by("-id").first())
    if suggestion is None:
        raise ValidationError(f"The model {model_ref} made no suggestion for this image; nothing was changed.")
    if suggestion.label_id != label.pk or suggestion.label_name != label.name:
        raise Conflict(f"The model suggested {suggestion.label_name}, which no longer matches this dataset's "
                       f"class {label.name} (renamed or deleted since?); nothing was changed.")
    return suggestion


def undo(dataset: Dataset, event: LabelEvent) -> Image:
    """Put the event's image back in the class it had before; refuse when it changed since."""
    with transaction.atomic():
        event = LabelEvent.objects.select_for_update().get(pk=event.pk)
        if event.undone_at is not None:
            raise Conflict("That label was already undone.")
        image = _locked_image(dataset, event.image_id)
        if image.label_id != event.label_id or event.label_id is None:
            raise Conflict("This image was labelled again since; nothing was undone.")
        if event.previous_name and event.previous_id is None:
            raise Conflict(f"Its class before, {event.previous_name}, was deleted; nothing was undone.")
        bulk.relabel(dataset, [image.pk], event.previous, record=False)  # an undo marks its event instead
        event.undone_at = timezone.now()
        event.save(update_fields=["undone_at"])
        image.label = event.previous
    return image


def _locked_image(dataset: Dataset, image_id) -> Image:
    try:
        return (Image.objects.select_for_update(of=("self",)).select_related("label")
                .get(dataset=dataset, deleted_at__isnull=True, pk=int(image_id)))
    except (Image.DoesNotExist, ValueError, TypeError):
        raise ValidationError("That image is not in this dataset any more (deleted?); nothing was changed.") from None


def _class(dataset: Dataset, class_id) -> DatasetClass:
    try:
        return dataset.classes.get(pk=int(class_id))
    except (DatasetClass.DoesNotExist, ValueError, TypeError):
        raise ValidationError("That class is not in this dataset any more (deleted?); nothing was changed.") from None
