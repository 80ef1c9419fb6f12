"""Many labels as one step: accept every suggestion of a class above a confidence, or a grid page's choices;
and undo such a batch as one step. Only unlabelled images are ever labelled this way."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from webapp.datasets.models import Dataset, DatasetClass, Image
from webapp.datasets.services import bulk
from webapp.labelling.models import LabelBatch, LabelEvent, Origin, PrelabelJob, Suggestion
from webapp.labelling.services.label import Conflict
from webapp.labelling.services.queue import image_entry

SAMPLE = 12  # images shown before a bulk accept applies
GRID_PAGE = 24


def candidates(dataset: Dataset, job: PrelabelJob, label: DatasetClass, min_confidence: float = 0.0):
    """Return the job's live suggestions of `label` (by name too) for unlabelled images, most confident first."""
    return (Suggestion.objects.filter(job=job, dataset=dataset, label=label, label_name=label.name,
                                      confidence__gte=min_confidence, rejected_at__isnull=True,
                                      image__label__isnull=True, image__deleted_at__isnull=True)
            .select_related("image").order_by("-confidence", "image_id"))


def preview(dataset: Dataset, job: PrelabelJob, label: DatasetClass, min_confidence: float) -> dict:
    """Return how many images a bulk accept would label, and a sample of them (the least confident first)."""
    rows = candidates(dataset, job, label, min_confidence)
    count = rows.count()
    # The least sure of the batch are where a mistake would hide: show those.
    sample = list(rows.order_by("confidence", "image_id")[:SAMPLE])
    return {"count": count, "label": label.pk, "label_name": label.name, "min_confidence": min_confidence,
            "model": job.model_ref, "job": job.pk,
            "sample": [image_entry(dataset, s.image, s) for s in sample]}


def grid(dataset: Dataset, job: PrelabelJob, label: DatasetClass, *, page: int = 1) -> list[dict]:
    """Return one page of the unlabelled images the model suggests for `label`, most confident first."""
    start = (max(1, page) - 1) * GRID_PAGE
    return [image_entry(dataset, s.image, s) for s in candidates(dataset, job, label)[start:start + GRID_PAGE]]


def accept_above(dataset: Dataset, job: PrelabelJob, label: DatasetClass, min_confidence: float, *,
                 expected_count: int, user) -> LabelBatch:
    """Label every image the preview counted; refuse (changing nothing) when that count moved since."""
    with transaction.atomic():
        _lock(dataset)
        rows = list(candidates(dataset, job, label, min_confidence))
        if len(rows) != expected_count:
            raise Conflict(f"The images to accept changed since the preview ({expected_count} then, {len(rows)} "
                           "now); look again before accepting. Nothing was changed.")
        if not rows:
            raise ValidationError(f"No unlabelled image is suggested as {label.name} at "
                                  f"{min_confidence:.0%} or more; nothing was changed.")
        return _apply(dataset, job, label, rows, user, min_confidence=min_confidence)


def accept_chosen(dataset: Dataset, job: PrelabelJob, label: DatasetClass, accept: list[int], reject: list[int],
                  *, user) -> tuple[LabelBatch | None, int]:
    """Grid mode: label the images in `accept`, mark the suggestions of those in `reject` as wrong; all or none."""
    accept, reject = sorted(set(accept)), sorted(set(reject) - set(accept))
    if not accept and not reject:
        raise ValidationError("Choose images to accept or reject.")
    with transaction.atomic():
        _lock(dataset)
        found = {s.image_id: s for s in candidates(dataset, job, label).filter(image_id__in=accept + reject)}
        missing = [pk for pk in accept + reject if pk not in found]
        if missing:
            raise Conflict(f"{len(missing)} of these images changed since the page showed them (labelled, deleted "
                           "or no longer suggested as this class); reload the page. Nothing was changed.")
        Suggestion.objects.filter(pk__in=[found[pk].pk for pk in reject]).update(rejected_at=timezone.now())
        batch = _apply(dataset, job, label, [found[pk] for pk in accept], user) if accept else None
    return batch, len(reject)


def _lock(dataset: Dataset) -> None:
    """Take the dataset's row lock: one batch at a time per dataset, so counts cannot move under a batch."""
    Dataset.objects.select_for_update().filter(pk=dataset.pk).first()


def _apply(dataset, job, label, rows: list[Suggestion], user, *, min_confidence=None) -> LabelBatch:
    ids = [s.image_id for s in rows]
    locked = Image.objects.select_for_update().filter(pk__in=ids, label__isnull=True, deleted_at__isnull=True)
    if locked.count() != len(ids):
        raise Conflict("Some of these images were labelled meanwhile; nothing was changed.")
    who = user if user and user.is_authenticated else None
    batch = LabelBatch.objects.create(dataset=dataset, job=job, model_ref=job.model_ref, label=label,
                                      label_name=label.name, min_confidence=min_confidence, count=len(ids), user=who)
    bulk.relabel(dataset, ids, label, record=False)  # the batch's own events, below
    LabelEvent.objects.bulk_create([
        LabelEvent(dataset=dataset, image_id=pk, label=label, label_name=label.name, origin=Origin.BULK,
                   model_ref=job.model_ref, batch=batch, user=who) for pk in ids])
    return batch


def undo_batch(dataset: Dataset, batch: LabelBatch) -> dict:
    """Put the batch's images back to unlabelled as one step; images labelled again since are left as they are."""
    with transaction.atomic():
        _lock(dataset)
        batch = LabelBatch.objects.select_for_update().get(pk=batch.pk)
        if batch.undone_at is not None:
            raise Conflict("That batch was already undone.")
        events = list(batch.events.filter(undone_at__isnull=True))
        current = dict(Image.objects.filter(pk__in=[e.image_id for e in events], deleted_at__isnull=True)
                       .values_list("pk", "label_id"))
        back = [e for e in events if e.label_id is not None and current.get(e.image_id, -1) == e.label_id]
        if events and not back:
            raise Conflict("Every image of this batch was labelled again or deleted since; nothing was undone.")
        bulk.relabel(dataset, [e.image_id for e in back], None, record=False)  # its events are marked undone
        now = timezone.now()
        LabelEvent.objects.filter(pk__in=[e.pk for e in back]).update(undone_at=now)
        batch.undone_at = now
        batch.save(update_fields=["undone_at"])
    return {"batch": batch.pk, "undone": len(back), "kept": len(events) - len(back)}


def batch_for(dataset: Dataset, batch_pk) -> LabelBatch:
    """Return one batch of `dataset`, or raise Http404."""
    from django.http import Http404

    from webapp.core.ids import parse_id

    batch = LabelBatch.objects.filter(dataset=dataset, pk=parse_id(batch_pk) or 0).first()
    if batch is None:
        raise Http404("No such batch.")
    return batch
