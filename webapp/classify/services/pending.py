"""Uploads waiting in batch jobs that were never started: a per-user quota on their bytes, and their expiry.

A pending job takes files in batches until it is started. Without a bound one person could fill the disk by
never starting (100 files of LUX_MAX_UPLOAD_BYTES each per request), and a job abandoned in a closed browser
tab would keep its files for ever. So the bytes stored in one user's pending jobs together stay within
LUX_PENDING_UPLOAD_QUOTA_BYTES, and a pending job that received no file for LUX_PENDING_UPLOAD_EXPIRY_HOURS
(counted from its last upload, or its creation when it has none) is deleted with its files by the reaper that
runs in every worker (services/reaper.py).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Max, Q, Sum
from django.db.models.functions import Coalesce

from webapp.classify.models import ClassificationJob, JobInput, JobStatus
from webapp.datasets.validation import format_bytes

log = logging.getLogger(__name__)


def pending_bytes(user) -> int:
    """Return the bytes stored in `user`'s batch jobs that were not started yet."""
    rows = JobInput.objects.filter(job__owner=user, job__status=JobStatus.PENDING)
    return rows.aggregate(total=Sum("size_bytes"))["total"] or 0


def lock_owner(user) -> None:
    """Serialise `user`'s uploads inside the current transaction, so two requests cannot both fit the quota."""
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()


def quota_problem(user, adding: int) -> str:
    """Return why `adding` more bytes would break `user`'s pending quota, or "" when they fit."""
    quota = settings.LUX_PENDING_UPLOAD_QUOTA_BYTES
    held = pending_bytes(user)
    if held + adding <= quota:
        return ""
    return (f"These files ({format_bytes(adding)}) would take your uploads waiting in jobs not yet started to "
            f"{format_bytes(held + adding)}; the limit is {format_bytes(quota)}. Start a pending job (or delete "
            "one) to free room, or send fewer files.")


def expiry_cutoff(now: datetime) -> datetime:
    return now - timedelta(hours=settings.LUX_PENDING_UPLOAD_EXPIRY_HOURS)


def abandoned(now: datetime):
    """Return the pending jobs that received no file since the expiry cutoff."""
    cutoff = expiry_cutoff(now)
    return (ClassificationJob.objects.filter(status=JobStatus.PENDING, created_at__lt=cutoff)
            .annotate(last_upload=Coalesce(Max("inputs__added_at"), "created_at"))
            .filter(Q(last_upload__lt=cutoff)))


def expire_abandoned(now: datetime) -> list[int]:
    """Delete abandoned pending jobs with their stored files; return their ids."""
    expired = []
    for pk in abandoned(now).values_list("pk", flat=True):
        with transaction.atomic():
            # Locked and looked at again: an upload that came in meanwhile keeps the job.
            job = ClassificationJob.objects.select_for_update().filter(pk=pk, status=JobStatus.PENDING).first()
            if job is None or not abandoned(now).filter(pk=pk).exists():
                continue
            names = [name for name in job.inputs.values_list("file", flat=True) if name]
            job.delete()
            transaction.on_commit(lambda names=names: _delete_files(names))
        expired.append(pk)
    if expired:
        log.info("deleted %d batch job(s) left pending over %d h: %s", len(expired),
                 settings.LUX_PENDING_UPLOAD_EXPIRY_HOURS, expired)
    return expired


def _delete_files(names: list[str]) -> None:
    for name in names:
        try:
            default_storage.delete(name)
        except OSError:  # already gone, or storage briefly unreachable: the row is gone either way
            log.warning("could not delete %s", name, exc_info=True)
