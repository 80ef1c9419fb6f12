"""Batch jobs, the worker's side: claim the job, stream its images through the model, write results as they come.

Progress reaches the row at most about once a second (done/total, images/s, ETA), and the cancel flag is
read as often; a thread keeps the heartbeat while the model loads or a batch computes. A file that cannot
be read becomes a Prediction with an error; only a problem with the job as a whole (its model gone, its
archive missing) fails it. Every write is made under the claim's lease (the attempt number), so a worker
whose job the reaper gave to another changes nothing.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from webapp.classify.models import ClassificationJob, JobSource, JobStatus, Prediction
from webapp.classify.services import loader, refs
from webapp.classify.services.inputs import Inputs
from webapp.classify.services.pipeline import classify_stream
from webapp.classify.services.reaper import JOBS
from webapp.core.job_progress import JobProgress
from webapp.core.reaping import Heartbeat

log = logging.getLogger(__name__)
BATCH_SIZE = 32


def claim(job_id: int, *, worker: str, token: str | None = None) -> ClassificationJob | None:
    """Mark the job running and return it; None when it was cancelled, finished, sent again or is missing."""
    with transaction.atomic():
        attempt = JOBS.claim(job_id, token=token, worker=worker, started_at=timezone.now(), done=0, errors=0)
        if attempt is None:
            return None
        if attempt > 1:
            # An earlier attempt's worker died: start over, so no image is counted twice.
            log.warning("job %s: attempt %s starts over", job_id, attempt)
            Prediction.objects.filter(job_id=job_id).delete()
    return ClassificationJob.objects.get(pk=job_id)


def execute_job(job_id: int, *, worker: str, token: str | None = None) -> str:
    """Run one job to its end; return what happened (for the task's result).

    `token` is the task id of the message: one the job no longer names (a late redelivery) claims nothing.
    """
    job = claim(job_id, worker=worker, token=token)
    if job is None:
        return "not claimed"
    with Heartbeat.of(JOBS, job.pk, job.attempts) as heartbeat:
        try:
            return _run(job, heartbeat)
        except Exception as error:
            log.exception("job %s failed", job_id)
            _finish(job, JobStatus.FAILED, error=_failure(error))
            return "failed"


def _failure(error: Exception) -> str:
    if isinstance(error, refs.UnknownModelRef):
        return "The model of this job is no longer available (its run or imported model was deleted)."
    if isinstance(error, FileNotFoundError):
        return "A file this job needs is missing from storage (the model's weights or the uploaded archive)."
    return f"The job stopped because of an internal error ({type(error).__name__}: {str(error)[:300]})."


def _run(job: ClassificationJob, heartbeat: Heartbeat) -> str:
    source = refs.resolve(job.owner, job.model_ref)
    loaded, _ = loader.get_model(source)
    job.class_names, job.device = loaded.class_names, str(loaded.device)[:100]
    _leased(job).update(class_names=job.class_names, device=job.device)
    labels = _label_map(job, loaded.class_names)
    tracker = JobProgress(job, heartbeat, lambda: _leased(job))
    logits, targets, image_ids = [], [], []
    with Inputs(job, loaded.resize_size) as inputs:
        stream = classify_stream(loaded.model, loaded.preset, inputs.items(), inputs.decode, k=job.top_k,
                                 batch_size=BATCH_SIZE, device=loaded.device, channels_last=loaded.channels_last,
                                 keep_logits=labels is not None)
        try:
            for outcomes in stream:
                rows = [_row(job, outcome, labels) for outcome in outcomes]
                Prediction.objects.bulk_create(rows)
                if labels is not None:
                    for outcome, row in zip(outcomes, rows, strict=True):
                        if outcome.logits is not None and row.true_index is not None:
                            logits.append(outcome.logits)
                            targets.append(row.true_index)
                            image_ids.append(row.image_id)
                if tracker.advance(len(rows), sum(1 for r in rows if r.error)):
                    if heartbeat.lost.is_set():
                        return "lost"  # the reaper gave the job to another worker
                    _finish(job, JobStatus.CANCELLED, tracker=tracker)
                    return "cancelled"
        finally:
            stream.close()
    if heartbeat.lost.is_set() or not _leased(job).exists():
        return "lost"
    if labels is not None:
        from webapp.classify.worker.evaluation import evaluate_job

        evaluate_job(job, loaded.class_names, logits, targets, image_ids)
    _finish(job, JobStatus.SUCCEEDED, tracker=tracker)
    return "succeeded"


def _label_map(job: ClassificationJob, model_classes: list[str]) -> dict[int, int | None] | None:
    """Return {version class index: model class index or None} for a dataset version job, else None."""
    if job.source != JobSource.VERSION:
        return None
    position = {name: i for i, name in enumerate(model_classes)}
    return {i: position.get(name) for i, name in enumerate(job.version.class_names)}


def _row(job: ClassificationJob, outcome, labels) -> Prediction:
    item = outcome.item
    true_index = labels.get(item.true_class) if labels is not None and item.true_class is not None else None
    row = Prediction(job=job, position=item.position, name=item.name, image_id=item.image_id, source=item.source,
                     thumbnail=item.thumbnail, true_index=true_index, error=(outcome.error or "")[:500])
    if outcome.indices is not None:
        row.topk = [[int(i), round(float(p), 6)] for i, p in zip(outcome.indices, outcome.probabilities, strict=True)]
        row.predicted_index, row.confidence = row.topk[0][0], float(outcome.probabilities[0])
    return row


def _leased(job: ClassificationJob):
    """Return the job's row while this worker still holds it (empty once the reaper gave it to another)."""
    return JOBS.leased(job.pk, job.attempts)


def _finish(job: ClassificationJob, status: str, *, tracker: JobProgress | None = None, error: str = "") -> None:
    fields = {"status": status, "finished_at": timezone.now(), "error": error}
    if tracker is not None:
        fields.update(tracker.final_fields())
        if status == JobStatus.SUCCEEDED:
            fields["total"] = tracker.done  # the archive's own count is exact; this only guards a drift
    _leased(job).update(**fields)
