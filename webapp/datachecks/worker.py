"""The data-check job a Celery task runs: fill in missing hashes, then find near-duplicates (or label suspects)."""

from __future__ import annotations

import logging
import threading

from django.utils import timezone

from webapp.core.reaping import Heartbeat
from webapp.datachecks.models import CheckKind, CheckStatus, DataCheck
from webapp.datachecks.services import duplicates, hashes, tiny
from webapp.datachecks.services.reaper import CHECKS
from webapp.datasets.models import Dataset, Image

log = logging.getLogger(__name__)
PROGRESS_INTERVAL_S = 1.0  # the page polls about once a second


class _Progress:
    """The latest (done, total); written to the row by the heartbeat thread, one write a second."""

    def __init__(self):
        self.lock = threading.Lock()
        self.done, self.total = 0, 0

    def __call__(self, done: int, total: int) -> None:
        with self.lock:
            self.done, self.total = done, total

    def fields(self) -> dict:
        with self.lock:
            return {"done": self.done, "total": self.total}


def run_check(pk: int, *, worker: str = "", token: str | None = None) -> str:
    """Run check `pk` and record what it found (the task body)."""
    check = DataCheck.objects.select_related("dataset", "version").filter(pk=pk).first()
    if check is None:
        return "missing"
    attempt = CHECKS.claim(pk, token=token, worker=worker, started_at=timezone.now(), error="", done=0, total=0)
    if attempt is None:
        return "not claimed"
    progress = _Progress()

    def beat() -> bool:
        return CHECKS.leased(pk, attempt).update(heartbeat_at=timezone.now(), **progress.fields()) == 1

    try:
        with Heartbeat(beat, min(PROGRESS_INTERVAL_S, CHECKS.heartbeat_interval_s()),
                       name=f"datacheck-{pk}-heartbeat") as heart:
            if check.kind == CheckKind.LABELS:
                from webapp.datachecks.services.labels import run_label_check

                fields = run_label_check(check, progress, stop=heart.lost.is_set)
            elif check.kind == CheckKind.OUTLIERS:
                from webapp.datachecks.services.outliers import run_outlier_check

                fields = run_outlier_check(check, progress, stop=heart.lost.is_set)
            else:
                fields = _near_duplicates(check, progress, stop=heart.lost.is_set)
        if heart.lost.is_set():
            return "lost"
    except Exception as exc:  # noqa: BLE001 - the row says what stopped; the log keeps the traceback
        log.exception("data check %s stopped", pk)
        CHECKS.leased(pk, attempt).update(status=CheckStatus.FAILED, finished_at=timezone.now(),
                                          error=f"The check stopped: {str(exc)[:300] or type(exc).__name__}.")
        return CheckStatus.FAILED
    CHECKS.leased(pk, attempt).update(status=CheckStatus.SUCCEEDED, finished_at=timezone.now(), error="",
                                      **progress.fields(), **fields)
    return CheckStatus.SUCCEEDED


def _near_duplicates(check: DataCheck, progress: _Progress, *, stop) -> dict:
    """Hash what has no hash yet, compare tiny images' pixels, then group near-duplicates and find the leaks."""
    if check.version_id:
        images = Image.objects.filter(version_entries__version_id=check.version_id)
    else:
        images = Image.objects.filter(dataset_id=check.dataset_id, deleted_at__isnull=True)
    revision = Dataset.objects.filter(pk=check.dataset_id).values_list("revision", flat=True).first() or 0
    hashes.fill_missing(hashes.missing_ids(images), on_progress=progress, stop=stop)
    threshold = check.threshold if check.threshold is not None else duplicates.DEFAULT_THRESHOLD
    # Images of <= 16 px a side: their pixels, compared here (the hashes miss their copies); progress counts
    # the files read, as the hashing step above counts the files it hashed.
    pixels = tiny.tiny_pairs(images, duplicates.DEFAULT_THRESHOLD, on_progress=progress, stop=stop)
    rows = duplicates.version_rows(check.version) if check.version_id else duplicates.dataset_rows(check.dataset)
    fields = duplicates.check_fields(rows, threshold, extra=pixels)
    progress(len(rows), len(rows))
    return fields | {"revision": check.version.revision if check.version_id else revision}
