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
    """The images a labelling session works through: the unlabelled ones, or one class (to review it), narrowed
    by a filter on the suggesting job's suggestions (a class, and confidence at least / below) when one is set."""

    review: DatasetClass | None = None
    suggested: DatasetClass | None = None  # only images the model suggested as this class
    min_confidence: float | None = None  # 0..1: suggestions at least this sure
    max_confidence: float | None = None  # 0..1: suggestions below this

    @property
    def key(self) -> str:
        return str(self.review.pk) if self.review else UNLABELLED

    @property
    def filtered(self) -> bool:
        return self.suggested is not None or self.min_confidence is not None or self.max_confidence is not None

    @property
    def title(self) -> str:
        base = f"class {self.review.name}" if self.review else "unlabelled images"
        return f"{base} {self.filter_text}" if self.filtered else base

    @property
    def filter_text(self) -> str:
        """Return the filter in words: "suggested as grass with confidence below 60%"."""
        parts = [f"suggested as {self.suggested.name}" if self.suggested else "suggested"]
        low, high = _percent(self.min_confidence), _percent(self.max_confidence)
        if low is not None and high is not None:
            parts.append(f"with confidence from {low}% to below {high}%")
        elif low is not None:
            parts.append(f"with confidence at least {low}%")
        elif high is not None:
            parts.append(f"with confidence below {high}%")
        return " ".join(parts) if self.filtered else ""

    def params(self) -> dict[str, str]:
        """Return the query parameters of the page's URL for this scope (confidences in %): a bookmarkable filter."""
        values = {"scope": self.key, "suggested": self.suggested.pk if self.suggested else None,
                  "min_confidence": _percent(self.min_confidence), "max_confidence": _percent(self.max_confidence)}
        return {name: str(value) for name, value in values.items() if value is not None}


def _percent(value: float | None):
    return None if value is None else f"{value * 100:.4g}"


def scope_for(dataset: Dataset, value: str | None, *, suggested: int | None = None,
              min_confidence: float | None = None, max_confidence: float | None = None) -> Scope:
    """Read the `scope` parameter (empty or "unlabelled", or a class id of `dataset`) and the suggestion filter:
    a class id of `dataset` and confidences in 0..1."""
    review = None
    if value not in (None, "", UNLABELLED):
        review = dataset.classes.filter(pk=parse_id(value) or 0).first()
        if review is None:
            raise ValidationError(f"Scope must be “{UNLABELLED}” or a class of this dataset.")
    chosen = None
    if suggested is not None:
        chosen = dataset.classes.filter(pk=suggested).first()
        if chosen is None:
            raise ValidationError("The suggested class must be a class of this dataset.")
    for bound in (min_confidence, max_confidence):
        if bound is not None and not 0 <= bound <= 1:
            raise ValidationError("A confidence bound must be between 0% and 100%.")
    if min_confidence is not None and max_confidence is not None and min_confidence >= max_confidence:
        raise ValidationError("The lower confidence bound must be below the upper one.")
    return Scope(review=review, suggested=chosen, min_confidence=min_confidence, max_confidence=max_confidence)


def check_filter(scope: Scope, job: PrelabelJob | None) -> None:
    """Refuse a suggestion filter when there are no suggestions to filter on."""
    if scope.filtered and job is None:
        raise ValidationError("Run a pre-label job first: filtering by suggestion needs its suggestions.")


def scoped_images(dataset: Dataset, scope: Scope, job: PrelabelJob | None = None):
    images = live_images(dataset)
    images = images.filter(label=scope.review) if scope.review else images.filter(label__isnull=True)
    if scope.filtered:
        images = images.filter(pk__in=_matching(scope, job).values("image_id"))
    return images


def _matching(scope: Scope, job: PrelabelJob | None):
    """Return the job's suggestions (none rejected) that the scope's filter keeps."""
    rows = Suggestion.objects.filter(job=job, rejected_at__isnull=True) if job else Suggestion.objects.none()
    if scope.suggested is not None:  # by name too: a class renamed since means another class
        rows = rows.filter(label=scope.suggested, label_name=scope.suggested.name)
    if scope.min_confidence is not None:
        rows = rows.filter(confidence__gte=scope.min_confidence)
    if scope.max_confidence is not None:
        rows = rows.filter(confidence__lt=scope.max_confidence)
    return rows


def counts(dataset: Dataset, scope: Scope, job: PrelabelJob | None = None) -> dict:
    """Return how many images the scope holds now and how many the dataset has in all."""
    return {"remaining": scoped_images(dataset, scope, job).count(), "total": live_images(dataset).count()}


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
    images = scoped_images(dataset, scope, job).annotate(queue_key=_key(order, job)).order_by("queue_key", "id")
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
