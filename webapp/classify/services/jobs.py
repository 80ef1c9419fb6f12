"""Batch jobs, the web's side: make one from uploads, a ZIP or a dataset version; start, cancel, report.

Uploads come in batches of at most 100 files per request into a pending job, which is then started.
A ZIP is checked with the datasets app's archive reader before it is stored and queued. Everything
heavier (decoding, the model, results) happens on the worker: see worker/jobs.py.
"""

from __future__ import annotations

import time
import uuid

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone

from webapp.classify.models import ClassificationJob, JobInput, JobSource, JobStatus
from webapp.classify.services import pending, refs
from webapp.classify.services.reaper import JOBS
from webapp.core import reaping
from webapp.core.errors import FieldError
from webapp.core.reaping import QueueUnreachable
from webapp.datasets.archive import ArchiveEntry, BadArchive, iter_archive
from webapp.datasets.models import DatasetVersion, Split
from webapp.datasets.services.archive_import import archive_limits
from webapp.datasets.validation import as_sentence, format_bytes

JOB_TASK = "classify.run_job"
VERSION_SPLITS = (Split.TEST.value, Split.VAL.value, Split.TRAIN.value)
MAX_TOP_K = 20


class JobError(FieldError):
    """The job cannot be made or changed; `field` names the input at fault, `status` the HTTP status."""


def _new_job(user, model_ref: str, source: str, *, top_k: int | None = 5, low_confidence: float | None = None,
             **fields) -> ClassificationJob:
    resolved = refs.resolve(user, model_ref)  # UnknownModelRef (a 404) for a model the user may not use
    top_k = int(top_k or 5)
    if not 1 <= top_k <= MAX_TOP_K:
        raise JobError(f"Top-k must be between 1 and {MAX_TOP_K}.", "top_k")
    low = 0.5 if low_confidence is None else float(low_confidence)
    if not 0 < low < 1:
        raise JobError("The low-confidence threshold must be between 0 and 1 (e.g. 0.5).", "low_confidence")
    return ClassificationJob(owner=user, model_ref=resolved.ref, model_label=resolved.label[:300], source=source,
                             top_k=top_k, low_confidence=low, **fields)


def create_upload_job(user, model_ref: str, *, name: str = "", top_k: int = 5,
                      low_confidence: float | None = None) -> ClassificationJob:
    """Return a new pending job that takes uploaded files until it is started."""
    job = _new_job(user, model_ref, JobSource.UPLOAD, name=name[:200], top_k=top_k, low_confidence=low_confidence)
    job.save()
    return job


def add_uploads(job: ClassificationJob, files: list) -> list[dict]:
    """Store up to 100 uploaded files in a pending job; return what happened to each (refusals named)."""
    if job.status != JobStatus.PENDING or job.source != JobSource.UPLOAD:
        raise JobError("This job has started: files can only be added before it starts.", status=409)
    if len(files) > settings.DATA_UPLOAD_MAX_NUMBER_FILES:
        raise JobError(f"Send at most {settings.DATA_UPLOAD_MAX_NUMBER_FILES} files per request.", "files")
    limit = settings.LUX_MAX_UPLOAD_BYTES
    errors = [_upload_error(upload, limit) for upload in files]
    adding = sum(upload.size for upload, error in zip(files, errors, strict=True) if not error)
    report, rows, stored_names = [], [], []
    try:
        with transaction.atomic():
            pending.lock_owner(job.owner)  # the quota spans the owner's jobs: one upload request at a time
            locked = ClassificationJob.objects.select_for_update().get(pk=job.pk)
            if locked.status != JobStatus.PENDING:
                raise JobError("This job has started: files can only be added before it starts.", status=409)
            problem = pending.quota_problem(job.owner, adding)
            if problem:
                raise JobError(problem, "files", status=413)
            top = JobInput.objects.filter(job=job).aggregate(top=Max("position"))["top"]
            start = 0 if top is None else top + 1  # not `top or -1`: a job holding one file has top 0
            for offset, (upload, error) in enumerate(zip(files, errors, strict=True)):
                name = _display_name(upload.name, start + offset)
                stored = "" if error else default_storage.save(  # streamed in chunks, never whole in memory
                    f"classify/jobs/{job.pk}/inputs/{uuid.uuid4().hex}.img", upload)
                stored_names += [stored] if stored else []
                rows.append(JobInput(job=job, position=start + offset, name=name, file=stored, error=error,
                                     size_bytes=0 if error else upload.size))
                report.append({"name": name, "accepted": not error, "error": error})
            JobInput.objects.bulk_create(rows)
            ClassificationJob.objects.filter(pk=job.pk).update(total=F("total") + len(rows))
    except BaseException:
        for name in stored_names:  # nothing of a refused request stays on disk
            default_storage.delete(name)
        raise
    job.refresh_from_db()
    return report


def _upload_error(upload, limit: int) -> str:
    """Return why one uploaded file is refused, or "" when it is stored."""
    if not upload.size:
        return "the file is empty"
    if upload.size > limit:
        return f"file is {format_bytes(upload.size)}; the limit is {format_bytes(limit)}"
    return ""


def _display_name(name, position: int) -> str:
    text = str(name or "").replace("\\", "/").rpartition("/")[2].replace("\0", "")
    return (text or f"image-{position + 1}")[:500]


def create_archive_job(user, model_ref: str, upload, *, name: str = "", top_k: int = 5,
                       low_confidence: float | None = None) -> ClassificationJob:
    """Check an uploaded ZIP with the datasets app's reader, store it and queue the job."""
    limit = settings.LUX_MAX_ARCHIVE_BYTES
    if upload.size > limit:
        raise JobError(f"The archive is {format_bytes(upload.size)}; the limit is {format_bytes(limit)}.", "archive")
    job = _new_job(user, model_ref, JobSource.ARCHIVE, name=name[:200], top_k=top_k, low_confidence=low_confidence,
                   original_name=_display_name(upload.name, 0))
    try:
        upload.seek(0)
        total = archive_items(upload)
    except BadArchive as error:
        raise JobError(as_sentence(error.message), "archive")
    if total == 0:
        raise JobError("The archive holds no files to classify (only folders, hidden or system files, "
                       "or other archives).", "archive")
    upload.seek(0)
    job.total = total
    job.archive.save("archive.zip", upload, save=False)
    try:
        _queue(job)
    except QueueUnreachable:
        raise  # the job is saved with its archive: the reaper sends it once the broker is back
    except BaseException:
        default_storage.delete(job.archive.name)
        raise
    return job


def create_version_job(user, model_ref: str, version: DatasetVersion, split: str, *, name: str = "",
                       top_k: int = 5, low_confidence: float | None = None) -> ClassificationJob:
    """Queue a job over one split of a dataset version (the version must be visible to `user`)."""
    if split not in VERSION_SPLITS:
        raise JobError(f"Choose one of the splits {', '.join(VERSION_SPLITS)}.", "split")
    total = version.entries.filter(split=split).count()
    if total == 0:
        raise JobError(f"The {split} split of {version} holds no images.", "split")
    job = _new_job(user, model_ref, JobSource.VERSION, name=name[:200], top_k=top_k, low_confidence=low_confidence,
                   version=version, split=split, total=total)
    _queue(job)
    return job


def archive_items(fileobj) -> int:
    """Return how many entries of a ZIP a job reports on: files to classify and files refused by name."""
    # Like count_entries, but entries skipped for a reason a person should hear (unsafe paths, symlinks,
    # nested archives) count too: they become per-file errors. Folders and system clutter do not.
    entries = iter_archive(fileobj, limits=archive_limits())
    return sum(1 for entry in entries if isinstance(entry, ArchiveEntry) or not entry.silent)


def start_job(job: ClassificationJob) -> ClassificationJob:
    """Queue a pending upload job."""
    with transaction.atomic():
        locked = ClassificationJob.objects.select_for_update().get(pk=job.pk)
        if locked.status != JobStatus.PENDING:
            raise JobError("This job has already started.", status=409)
        if locked.total == 0:
            raise JobError("Add at least one image before starting the job.", "files")
        _queue(locked)
    job.refresh_from_db()
    return job


def _queue(job: ClassificationJob) -> None:
    """Save the job as queued and send its task once the row is committed (unsent: see reaping.send_now)."""
    token = reaping.new_token()
    for field, value in JOBS.queued_fields(token).items():
        setattr(job, field, value)
    with transaction.atomic():
        job.save()
        reaping.send_on_commit(JOBS, job.pk, token)


def cancel_job(job: ClassificationJob) -> ClassificationJob:
    """Stop a job: at once when no worker holds it (not started, or its worker died), else at the worker's
    next look (within about a second)."""
    now = timezone.now()
    waiting = ClassificationJob.objects.filter(pk=job.pk, status__in=(JobStatus.PENDING, JobStatus.QUEUED))
    if not waiting.update(status=JobStatus.CANCELLED, cancel_requested=True, finished_at=now):
        running = ClassificationJob.objects.filter(pk=job.pk, status=JobStatus.RUNNING)
        if not JOBS.cancel_orphan(job.pk) and not running.update(cancel_requested=True):
            raise JobError("This job has already finished.", status=409)
    job.refresh_from_db()
    return job


def job_status(job: ClassificationJob) -> dict:
    """Return the small JSON the progress bar polls."""
    progress = job.progress or {}
    fraction = job.done / job.total if job.total else (1.0 if job.status == JobStatus.SUCCEEDED else 0.0)
    return {
        "id": job.pk, "status": job.status, "done": job.done, "total": job.total, "errors": job.errors,
        "fraction": round(min(fraction, 1.0), 4), "images_per_s": progress.get("images_per_s"),
        "eta_s": progress.get("eta_s"), "cancel_requested": job.cancel_requested, "error": job.error,
        "evaluation": job.evaluation_id, "finished": job.status not in (JobStatus.PENDING, JobStatus.QUEUED,
                                                                      JobStatus.RUNNING),
        "updated_at": progress.get("updated_at"), "now": time.time(),
    }


def delete_job(job: ClassificationJob) -> None:
    """Delete a finished job with its stored inputs, thumbnails and archive."""
    if job.is_active:
        raise JobError("Cancel the job before deleting it.", status=409)
    names = [n for n in job.inputs.values_list("file", flat=True) if n]
    names += [n for n in job.predictions.values_list("thumbnail", flat=True) if n]
    if job.archive:
        names.append(job.archive.name)
    job.delete()
    for name in names:
        default_storage.delete(name)
