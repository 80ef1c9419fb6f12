"""The download job a Celery task runs: stream one weights file with progress, verify it, move it in."""

from __future__ import annotations

import logging
import threading

from django.utils import timezone

from classifier import pretrained_files
from classifier.pretrained_files import DownloadError
from webapp.core.reaping import Heartbeat
from webapp.weights.models import Check, DownloadStatus, Origin, WeightsFileRecord
from webapp.weights.services.catalogue import base_url, offline
from webapp.weights.services.downloads import OFFLINE_MESSAGE
from webapp.weights.services.reaper import DOWNLOADS

log = logging.getLogger(__name__)
PROGRESS_INTERVAL_S = 1.0  # the page polls about once a second


class _Progress:
    """The latest (bytes, total) torch's download reached; written to the row by the heartbeat thread."""

    def __init__(self):
        self.lock = threading.Lock()
        self.done, self.total = 0, None

    def __call__(self, done: int, total: int | None) -> None:
        with self.lock:
            self.done, self.total = done, total

    def fields(self) -> dict:
        with self.lock:
            return {"bytes_done": self.done, "bytes_total": self.total}


def fetch(pk: int, *, worker: str = "", token: str | None = None) -> str:
    """Download row `pk`'s file into the torch cache and record the outcome (the task body)."""
    row = WeightsFileRecord.objects.filter(pk=pk).first()
    if row is None:
        return "missing"
    attempt = DOWNLOADS.claim(pk, token=token, worker=worker, started_at=timezone.now(), bytes_done=0, error="")
    if attempt is None:
        return "not claimed"
    entry = next((f for f in pretrained_files.weights_files() if f.filename == row.filename), None)
    progress = _Progress()

    def beat() -> bool:  # the heartbeat carries the progress: one write a second, from one thread
        return DOWNLOADS.leased(pk, attempt).update(heartbeat_at=timezone.now(), **progress.fields()) == 1

    status, error, fields = DownloadStatus.FAILED, "", {}
    try:
        if entry is None:
            error = f"No registered architecture uses {row.filename} any more; nothing was downloaded."
        elif offline():
            error = OFFLINE_MESSAGE
        else:
            with Heartbeat(beat, PROGRESS_INTERVAL_S, name=f"weights-{pk}-heartbeat"):
                path = _download(entry, progress)
            stat = path.stat()
            status = DownloadStatus.SUCCEEDED
            fields = {"checked_size": stat.st_size, "checked_mtime_ns": stat.st_mtime_ns, "verified_by": Check.CHECKSUM,
                      "sha256": "", "origin": Origin.DOWNLOAD, "installed_at": timezone.now(),
                      "installed_by": row.requested_by, **progress.fields()}
    except DownloadError as e:
        error = str(e)[:1].upper() + str(e)[1:] + "."
    except Exception:
        log.exception("download of %s stopped", row.filename)
        error = "The download stopped because of an internal error (see the worker's log); nothing was kept."
    now = timezone.now()
    DOWNLOADS.leased(pk, attempt).update(status=status, error=error, finished_at=now, updated_at=now, **fields)
    if status == DownloadStatus.SUCCEEDED:
        _remember_sha256(pk, entry)
    return status


def _download(entry, progress: _Progress):
    from classifier.pretrained_files import download

    return download(entry, base_url=base_url(), on_progress=progress)


def _remember_sha256(pk: int, entry) -> None:
    """Store the full SHA-256 of the file just verified (torch checked its prefix while streaming it)."""
    from classifier.pretrained_files import file_sha256

    WeightsFileRecord.objects.filter(pk=pk).update(sha256=file_sha256(entry.path))
