"""The data-check job a Celery task runs: fill in missing hashes, then find near-duplicates (or label suspects)."""

from __future__ import annotations

import logging
import threading

from django.utils import timezone

from webapp.core.reaping import Heartbeat
from webapp.datachecks.models import CheckKind, CheckStatus, DataCheck
from webapp.datachecks.services import duplicates, hashes, tiny
from webapp.datachecks.services.checks import compare_added_on_commit, latest
from webapp.datachecks.services.reaper import CHECKS
from webapp.datasets.models import Dataset, Image
from webapp.datasets.services.tally import read_tally

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
    if not CHECKS.leased(pk, attempt).update(status=CheckStatus.SUCCEEDED, finished_at=timezone.now(), error="",
                                             **progress.fields(), **fields):
        return "lost"
    if check.kind == CheckKind.DUPLICATES and not check.version_id:
        # Images added while it ran are not in its pairs, and their upload found it busy: start the next.
        compare_added_on_commit(check.dataset)
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
    if check.version_id:
        rows, generation, earlier = duplicates.version_rows(check.version), None, None
    else:
        generation, rows, settled = _rows_at_a_generation(check.dataset)
        earlier, added = _earlier(check, rows, generation) if check.automatic and settled else (None, None)
    # Images of <= 16 px a side: their pixels, compared here (the hashes miss their copies); progress counts
    # the files read, as the hashing step above counts the files it hashed.
    pixels = tiny.tiny_pairs(images, duplicates.DEFAULT_THRESHOLD, among=added, on_progress=progress, stop=stop)
    fields = duplicates.check_fields(rows, threshold, earlier, extra=pixels, generation=generation)
    progress(len(rows), len(rows))
    return fields | {"revision": check.version.revision if check.version_id else revision}


def _rows_at_a_generation(dataset: Dataset) -> tuple[int, list, bool]:
    """Return the tally's generation, the live images' rows, and whether no image joined while they were read."""
    # The generation is read first: pages then know every image that joined after it (duplicates.added_since).
    # Read again after, equal: the rows hold exactly the images that had joined by then (an upload in between
    # would make an automatic check's count of new images disagree with it).
    for _ in range(3):
        generation = read_tally(dataset.pk).generation
        rows = duplicates.dataset_rows(dataset)
        if read_tally(dataset.pk).generation == generation:
            return generation, rows, True
    return generation, rows, False


def _earlier(check: DataCheck, rows: list, generation: int) -> tuple[dict | None, set[int] | None]:
    """Return the pairs an automatic check may keep and the images to compare with all (the last live check's
    pairs, and the images above its last id), or Nones when other images joined since: compare everything."""
    last = latest(check.dataset, finished=True)
    earlier = last.results if last is not None else None
    joined = duplicates.joined_since(earlier, generation)
    if joined is None or earlier.get("pairs_upto", -1) < max(check.threshold or 0, duplicates.DEFAULT_THRESHOLD):
        return None, None
    added = {pk for pk, h, _, _ in rows if h is not None and pk > earlier.get("last_image", 0)}
    return (earlier, added) if len(added) == joined else (None, None)
