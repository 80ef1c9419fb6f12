"""Pre-label jobs, the worker's side: claim the job, stream the dataset's unlabelled images through the model
(the batch classification pipeline and model cache), and store each image's suggestion as it comes.

Progress reaches the row at most about once a second, and the cancel flag is read as often; a thread keeps
the heartbeat while the model loads or a batch computes. Every write is made under the claim's lease, so a
worker whose job the reaper gave to another changes nothing. An image that cannot be read is counted as an
error and gets no suggestion; only a problem with the job as a whole (its model gone, its classes matching
none of the dataset's) fails it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from training.active import uncertainty
from webapp.classify.services import loader, refs
from webapp.classify.services.decode import DecodedImage, decode
from webapp.classify.services.pipeline import classify_stream
from webapp.core.job_progress import JobProgress
from webapp.core.reaping import Heartbeat
from webapp.datasets.services.access import live_images
from webapp.datasets.services.store import image_limits
from webapp.labelling.models import PrelabelJob, PrelabelStatus, Suggestion
from webapp.labelling.services.prelabel import PrelabelError, class_match
from webapp.labelling.services.reaper import PRELABEL

log = logging.getLogger(__name__)
BATCH_SIZE = 32


@dataclass
class Item:
    """One unlabelled image, as the job's thread knows it."""

    image_id: int
    file: str


def claim(job_id: int, *, worker: str, token: str | None = None) -> PrelabelJob | None:
    """Mark the job running and return it; None when it was cancelled, finished, sent again or is missing."""
    with transaction.atomic():
        attempt = PRELABEL.claim(job_id, token=token, worker=worker, started_at=timezone.now(), done=0, errors=0)
        if attempt is None:
            return None
        if attempt > 1:  # an earlier attempt's worker died: start over, so no image is counted twice
            Suggestion.objects.filter(job_id=job_id).delete()
    return PrelabelJob.objects.select_related("dataset", "created_by").get(pk=job_id)


def execute_prelabel(job_id: int, *, worker: str, token: str | None = None) -> str:
    """Run one pre-label job to its end; return what happened (for the task's result)."""
    job = claim(job_id, worker=worker, token=token)
    if job is None:
        return "not claimed"
    with Heartbeat.of(PRELABEL, job.pk, job.attempts) as heartbeat:
        try:
            return _run(job, heartbeat)
        except Exception as error:
            log.exception("pre-label job %s failed", job_id)
            _finish(job, PrelabelStatus.FAILED, error=_failure(error))
            return "failed"


def _failure(error: Exception) -> str:
    if isinstance(error, PrelabelError):
        return error.message
    if isinstance(error, refs.UnknownModelRef):
        return "The model of this job is no longer available (its run or imported model was deleted)."
    if isinstance(error, FileNotFoundError):
        return "The model's weights are missing from storage."
    return f"The job stopped because of an internal error ({type(error).__name__}: {str(error)[:300]})."


def _run(job: PrelabelJob, heartbeat: Heartbeat) -> str:
    loaded, _ = loader.get_model(refs.resolve(job.created_by, job.model_ref))
    names = list(loaded.class_names)
    classes = class_match(job.dataset, names)  # the dataset's classes may have changed since the job was made
    _leased(job).update(class_names=names, device=str(loaded.device)[:100])
    items = [Item(pk, file) for pk, file in live_images(job.dataset).filter(label__isnull=True).order_by("pk")
             .values_list("pk", "file")]
    _leased(job).update(total=len(items))
    job.total = len(items)
    side, limits = loaded.resize_size, image_limits()

    def read(item: Item) -> DecodedImage:
        with default_storage.open(item.file, "rb") as handle:
            return decode(handle.read(), side, limits=limits)

    tracker = JobProgress(job, heartbeat, lambda: _leased(job))
    stream = classify_stream(loaded.model, loaded.preset, items, read, k=job.top_k, batch_size=BATCH_SIZE,
                             device=loaded.device, channels_last=loaded.channels_last, keep_logits=True)
    try:
        for outcomes in stream:
            rows = _suggestions(job, [o for o in outcomes if o.logits is not None], names, classes)
            if not _leased(job).exists():
                return "lost"
            Suggestion.objects.bulk_create(rows)
            if tracker.advance(len(outcomes), len(outcomes) - len(rows)):
                if heartbeat.lost.is_set():
                    return "lost"  # the reaper gave the job to another worker
                _finish(job, PrelabelStatus.CANCELLED, tracker=tracker)
                return "cancelled"
    finally:
        stream.close()
    if heartbeat.lost.is_set() or not _leased(job).exists():
        return "lost"
    _finish(job, PrelabelStatus.SUCCEEDED, tracker=tracker)
    # Older jobs' suggestions are superseded: the queue and bulk accept read the newest job's only.
    Suggestion.objects.filter(dataset=job.dataset, job__created_at__lte=job.created_at).exclude(job=job).delete()
    return "succeeded"


def _suggestions(job: PrelabelJob, outcomes: list, names: list[str], classes: dict[str, int]) -> list[Suggestion]:
    """Return one Suggestion per answered image: top-k by name, confidence, margin and entropy."""
    if not outcomes:
        return []
    probs = torch.stack([o.logits for o in outcomes]).softmax(dim=1)  # (B, C)
    summary = uncertainty(probs)
    rows = []
    for row, outcome in enumerate(outcomes):
        top = [[names[i], round(float(p), 6)] for i, p in zip(outcome.indices, outcome.probabilities, strict=True)]
        best = top[0][0]
        rows.append(Suggestion(job=job, dataset_id=job.dataset_id, image_id=outcome.item.image_id,
                               model_ref=job.model_ref, label_name=best, label_id=classes.get(best), topk=top,
                               confidence=float(summary.confidence[row]), margin=float(summary.margin[row]),
                               entropy=float(summary.entropy[row])))
    return rows


def _leased(job: PrelabelJob):
    """Return the job's row while this worker still holds it (empty once the reaper gave it to another)."""
    return PRELABEL.leased(job.pk, job.attempts)


def _finish(job: PrelabelJob, status: str, *, tracker: JobProgress | None = None, error: str = "") -> None:
    fields = {"status": status, "finished_at": timezone.now(), "error": error}
    if tracker is not None:
        fields.update(tracker.final_fields())
    _leased(job).update(**fields)
