"""Which images wait to be labelled, in which order, and how many are left."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import F, FloatField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Cast, Coalesce
from django.urls import reverse

from webapp.core.ids import parse_id
from webapp.datasets.models import Dataset, DatasetClass, Image
from webapp.datasets.services.access import live_images
from webapp.labelling.models import PrelabelJob, Suggestion

UNLABELLED = "unlabelled"
BATCH = 20  # images per queue fetch: enough to preload ahead, small enough to stay fresh
# The orders a queue can take; all but "oldest" read the suggestions of a pre-label job.
ORDERS = {
    "oldest": "oldest first",
    "margin": "most uncertain first (smallest margin)",
    "entropy": "most uncertain first (highest entropy)",
    "confidence": "most confident first",
    "random": "random",
}
_SPREAD = 2654435761  # Knuth's multiplicative hash: a fixed shuffle of ids that pages like any other order


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
        return Scope(review=dataset.classes.get(pk=parse_id(value) or 0))
    except DatasetClass.DoesNotExist:
        raise ValidationError(f"Scope must be “{UNLABELLED}” or a class of this dataset.") from None


def scoped_images(dataset: Dataset, scope: Scope):
    images = live_images(dataset)
    return images.filter(label=scope.review) if scope.review else images.filter(label__isnull=True)


def counts(dataset: Dataset, scope: Scope) -> dict:
    """Return how many images the scope holds now and how many the dataset has in all."""
    return {"remaining": scoped_images(dataset, scope).count(), "total": live_images(dataset).count()}


def order_for(value: str | None, job: PrelabelJob | None) -> str:
    """Read the `order` parameter; without suggestions to order by, the queue is oldest first (or random)."""
    if value in (None, ""):
        return "margin" if job is not None else "oldest"
    if value not in ORDERS:
        raise ValidationError(f"Order must be one of {', '.join(ORDERS)}.")
    if job is None and value not in ("oldest", "random"):
        raise ValidationError("Run a pre-label job first: ordering by the model's certainty needs its suggestions.")
    return value


def _key(order: str, job: PrelabelJob | None):
    """Return the expression images are sorted on, smallest first (images with no suggestion come last)."""
    if order == "oldest":
        return Value(0.0, output_field=FloatField())
    if order == "random":
        return Cast(F("id") * _SPREAD % 4294967296, FloatField())
    field, sign, missing = {"margin": ("margin", 1, 2.0), "entropy": ("entropy", -1, 1.0),
                            "confidence": ("confidence", -1, 1.0)}[order]
    value = Subquery(Suggestion.objects.filter(job=job, image=OuterRef("pk")).values(field)[:1])
    return Coalesce(value * sign if sign < 0 else value, Value(missing), output_field=FloatField())


def next_images(dataset: Dataset, scope: Scope, *, after: int | None = None, limit: int | None = None,
                order: str = "oldest", job: PrelabelJob | None = None) -> list[dict]:
    """Return the next images of the scope in `order`, after image id `after`, with their URLs and suggestions."""
    images = scoped_images(dataset, scope).annotate(queue_key=_key(order, job)).order_by("queue_key", "id")
    if after is not None:
        seen = Image.objects.filter(dataset=dataset, pk=after).annotate(queue_key=_key(order, job))
        key = seen.values_list("queue_key", flat=True).first()
        key = 0.0 if key is None and order == "oldest" else key
        images = images.filter(Q(queue_key__gt=key) | Q(queue_key=key, pk__gt=after)) if key is not None \
            else images.filter(pk__gt=after)
    page = list(images.select_related("label")[:limit or BATCH])
    suggestions = suggestions_of(job, [image.pk for image in page])
    return [image_entry(dataset, image, suggestions.get(image.pk)) for image in page]


def suggestions_of(job: PrelabelJob | None, image_ids: list[int]) -> dict[int, Suggestion]:
    """Return {image id: the job's suggestion} for the images that have one."""
    if job is None or not image_ids:
        return {}
    rows = Suggestion.objects.filter(job=job, image_id__in=image_ids, rejected_at__isnull=True)
    return {s.image_id: s for s in rows}


def suggestion_entry(suggestion: Suggestion | None) -> dict | None:
    """Return what the page shows of a suggestion: the class, how sure, and which model."""
    if suggestion is None:
        return None
    return {"id": suggestion.pk, "label": suggestion.label_id, "label_name": suggestion.label_name,
            "confidence": round(suggestion.confidence, 4), "margin": round(suggestion.margin, 4),
            "entropy": round(suggestion.entropy, 4), "model": suggestion.model_ref, "topk": suggestion.topk}


def image_entry(dataset: Dataset, image: Image, suggestion: Suggestion | None = None) -> dict:
    return {"id": image.pk, "name": str(image), "label": image.label_id,
            "file": reverse("image_file", args=[dataset.pk, image.pk]),
            "page": reverse("image_detail", args=[dataset.pk, image.pk]),
            "suggestion": suggestion_entry(suggestion)}
