"""Which images wait to be labelled, in which order, and how many are left."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.urls import reverse

from webapp.datasets.models import Dataset, DatasetClass, Image
from webapp.datasets.services.access import live_images

UNLABELLED = "unlabelled"
BATCH = 20  # images per queue fetch: enough to preload ahead, small enough to stay fresh


@dataclass(frozen=True)
class Scope:
    """The images a labelling session works through: the unlabelled ones, or one class (to review it)."""

    review: DatasetClass | None = None

    @property
    def key(self) -> str:
        return str(self.review.pk) if self.review else UNLABELLED

    @property
    def title(self) -> str:
        return f"class {self.review.name}" if self.review else "unlabelled images"


def scope_for(dataset: Dataset, value: str | None) -> Scope:
    """Read the `scope` parameter: empty or "unlabelled", or a class id of `dataset`."""
    if value in (None, "", UNLABELLED):
        return Scope()
    try:
        return Scope(review=dataset.classes.get(pk=int(value)))
    except (ValueError, DatasetClass.DoesNotExist):
        raise ValidationError(f"Scope must be “{UNLABELLED}” or a class of this dataset.") from None


def scoped_images(dataset: Dataset, scope: Scope):
    images = live_images(dataset)
    return images.filter(label=scope.review) if scope.review else images.filter(label__isnull=True)


def counts(dataset: Dataset, scope: Scope) -> dict:
    """Return how many images the scope holds now and how many the dataset has in all."""
    return {"remaining": scoped_images(dataset, scope).count(), "total": live_images(dataset).count()}


def next_images(dataset: Dataset, scope: Scope, *, after: int | None = None, limit: int = BATCH) -> list[dict]:
    """Return the next images of the scope (oldest first), after image id `after`, with their URLs."""
    images = scoped_images(dataset, scope).order_by("id")
    if after is not None:
        images = images.filter(pk__gt=after)
    return [image_entry(dataset, image) for image in images[:limit]]


def image_entry(dataset: Dataset, image: Image) -> dict:
    return {"id": image.pk, "name": str(image), "label": image.label_id,
            "file": reverse("image_file", args=[dataset.pk, image.pk]),
            "page": reverse("image_detail", args=[dataset.pk, image.pk])}
