"""Batch jobs, the worker's side: claim the job, stream its images through the model, write results as they come.

Progress reaches the row at most about once a second (done/total, images/s, ETA), and the cancel flag is
read as often. A file that cannot be read becomes a Prediction with an error; only a problem with the job
as a whole (its model gone, its archive missing) fails it.
"""

from __future__ import annotations

import logging
import time

from django.db import transaction
from django.utils import timezone

from webapp.classify.models import ClassificationJob, JobSource, JobStatus, Prediction
from webapp.classify.services import loader, refs
from webapp.classify.services.inputs import Inputs
from webapp.classify.services.pipeline import classify_stream

log = logging.getLogger(__name__)
PROGRESS_WRITE_S = 1.0
BATCH_SIZE = 32


def claim(job_id: int, *, worker: str) -> ClassificationJob | None:
    """Mark the job running and return it; None when it was cancelled, finished or is missing."""
    now = timezone.now()
    with transaction.atomic():
        job = ClassificationJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status not in (JobStatus.QUEUED, JobStatus.RUNNING):
            return None
        if job.status == JobStatus.RUNNING:
            # Redelivered after its worker died: start over, so no image is counted twice.
            log.warning("job %s was running on %s; starting it again", job_id, job.worker)
            job.predictions.all().delete()
        job.status, job.worker, job.started_at = JobStatus.RUNNING, worker[:255], now
        job.done = job.errors = 0
        job.attempts += 1
        job.save(update_fields=["status", "worker", "started_at", "done", "errors", "attempts"])
    return job


def execute_job(job_id: int, *, worker: str) -> str:
    """Run one job to its end; return what happened (for the task's result)."""
    job = claim(job_id, worker=worker)
    if job is None:
        return "not claimed"
    try:
        return _run(job)
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


def _run(job: ClassificationJob) -> str:
    source = refs.resolve(job.owner, job.model_ref)
    loaded, _ = loader.get_model(source)
    job.class_names, job.device = loaded.class_names, str(loaded.device)[:100]
    job.save(update_fields=["class_names", "device"])
    labels = _label_map(job, loaded.class_names)
    tracker = _Tracker(job)
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
                    _finish(job, JobStatus.CANCELLED, tracker=tracker)
                    return "cancelled"
        finally:
            stream.close()
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


class _Tracker:
    """Count finished images, write progress at most once a second, and read the cancel flag as often."""

    def __init__(self, job: ClassificationJob):
        self.job = job
        self.done = self.errors = 0
        self.started = time.monotonic()
        self.last_write = 0.0

    def snapshot(self) -> dict:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = self.done / elapsed
        left = max(self.job.total - self.done, 0)
        return {"images_per_s": round(rate, 2), "eta_s": round(left / rate, 1) if rate > 0 else None,
                "elapsed_s": round(elapsed, 2), "updated_at": timezone.now().isoformat()}

    def advance(self, done: int, errors: int) -> bool:
        """Record a batch; return True when the job should stop (cancel asked for)."""
        self.done += done
        self.errors += errors
        now = time.monotonic()
        if now - self.last_write < PROGRESS_WRITE_S:
            return False
        self.last_write = now
        rows = ClassificationJob.objects.filter(pk=self.job.pk)
        rows.update(done=self.done, errors=self.errors, progress=self.snapshot())
        return bool(rows.values_list("cancel_requested", flat=True).first())


def _finish(job: ClassificationJob, status: str, *, tracker: _Tracker | None = None, error: str = "") -> None:
    fields = {"status": status, "finished_at": timezone.now(), "error": error}
    if tracker is not None:
        fields.update(done=tracker.done, errors=tracker.errors, progress={**tracker.snapshot(), "eta_s": 0})
        if status == JobStatus.SUCCEEDED:
            fields["total"] = tracker.done  # the archive's own count is exact; this only guards a drift
    ClassificationJob.objects.filter(pk=job.pk).update(**fields)
