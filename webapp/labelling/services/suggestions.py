"""The suggestions of a dataset, filtered and ordered for the API (the page reads them through the queue)."""

from __future__ import annotations

from django.db.models import F

from webapp.datasets.models import Dataset
from webapp.labelling.models import PrelabelJob, Suggestion

_ORDERING = {"margin": ["margin", "id"], "entropy": [F("entropy").desc(), "id"],
             "confidence": [F("confidence").desc(), "id"], "oldest": ["image_id"], "random": ["?"]}


def filtered(dataset: Dataset, job: PrelabelJob | None, *, label=None, min_confidence: float | None = None,
             max_confidence: float | None = None, unlabelled: bool = True, order: str = "margin"):
    """Return the job's suggestions for the dataset's live images, filtered, in `order`."""
    if job is None:
        return Suggestion.objects.none()
    rows = Suggestion.objects.filter(job=job, dataset=dataset, image__deleted_at__isnull=True)
    if label is not None:
        rows = rows.filter(label=label, label_name=label.name)
    if min_confidence is not None:
        rows = rows.filter(confidence__gte=min_confidence)
    if max_confidence is not None:
        rows = rows.filter(confidence__lte=max_confidence)
    if unlabelled:
        rows = rows.filter(image__label__isnull=True)
    return rows.order_by(*_ORDERING[order])
