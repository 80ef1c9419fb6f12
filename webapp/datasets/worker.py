"""Import a ZIP into a dataset, the worker's side: run it entry by entry, every entry reported.

The upload was checked and queued by services/archive_import.py. A worker killed mid-import leaves its
committed batches behind; the attempt the reaper queues (webapp.core.reaping) resumes after them, because
images, report rows and counters of one batch are committed together. Each batch commits only while this
worker still holds the import (its attempt), so two workers never import the same entries.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import BinaryIO

from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import DateTimeField, F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from webapp.core.reaping import Heartbeat
from webapp.core.storage import is_local
from webapp.datachecks.services.checks import compare_added_on_commit
from webapp.datasets.archive import (
    ArchiveEntry,
    BadArchive,
    SkippedEntry,
    archive_layout,
    iter_archive,
    read_labels_csv,
)
from webapp.datasets.csvlabels import CsvLabelError, parse_labels_csv
from webapp.datasets.models import DatasetClass, Image, Import, ImportKind, ImportStatus
from webapp.datasets.services.archive_import import archive_limits
from webapp.datasets.services.classes import get_or_create_class
from webapp.datasets.services.reaper import IMPORTS
from webapp.datasets.services.rows import insert_items
from webapp.datasets.services.store import FileOutcome, count_outcomes, prepare_image, remove_files, save_staged, settle
from webapp.datasets.validation import RejectedFile, as_sentence

logger = logging.getLogger(__name__)

_BATCH_MAX_ITEMS = 2000  # report rows held before a commit, whatever the clock says
# Threads that check and write files when the storage is remote (each write waits on the network), and
# how far they may run ahead of this thread, in files and in bytes held in memory. On local disk the
# files are checked and written in this thread: the work is mostly Python under the GIL, and hand-offs
# made things slower (10,000 small JPEGs on 2 cores: 1.17 ms CPU per image inline, 1.48 with one
# thread, 1.95 with four).
_THREADS = min(8, 2 * (os.cpu_count() or 1))
_WINDOW_FILES = 32
_WINDOW_BYTES = 256 * 1024 * 1024
_NOT_IN_CSV = "not listed in labels.csv: imported without a label"


class LeaseLost(Exception):
    """The reaper gave this import to another worker: stop without writing anything more."""


def import_archive(import_id: int, progress_every: float = 0.5, *, worker: str = "", token: str | None = None) -> str:
    """Run one archive import to the end (the task body): every entry is reported, the archive deleted.

    `token` is the task id of the message: one the import no longer names (a late redelivery) claims nothing.
    """
    job = Import.objects.select_related("dataset").filter(pk=import_id, kind=ImportKind.ARCHIVE).first()
    if job is None:
        return "missing"  # deleted meanwhile
    if job.status in (ImportStatus.SUCCEEDED, ImportStatus.FAILED):
        _delete_archive(job)  # a redelivery after a worker died between finishing and cleaning up
        return "finished"
    now = Value(timezone.now(), output_field=DateTimeField())
    attempt = IMPORTS.claim(import_id, token=token, worker=worker, started_at=Coalesce(F("started_at"), now))
    if attempt is None:
        return "not claimed"
    job.refresh_from_db()
    resuming = bool(job.done or job.skipped)  # an earlier attempt committed batches: go on after them
    status, error = ImportStatus.FAILED, ""
    try:
        with default_storage.open(job.archive.name, "rb") as fileobj, Heartbeat.of(IMPORTS, job.pk, attempt):
            _Run(job, fileobj, progress_every, resuming, attempt).run()
        status = ImportStatus.SUCCEEDED
    except LeaseLost:
        return "lost"
    except BadArchive as e:
        kept = f" The {job.accepted} images before that point were imported." if job.accepted else ""
        error = as_sentence(e.message) + kept
    except (CsvLabelError, RejectedFile) as e:  # the labels file is unusable
        error = as_sentence(f"labels.csv: {e.message}")
    except FileNotFoundError:
        error = "The uploaded archive is missing from storage; upload it again."
    except Exception:
        logger.exception("import %s stopped", import_id)
        error = "The import stopped because of an internal error. The images imported before it stopped are kept."
    return _finish(job, attempt, status, error)


def _finish(job: Import, attempt: int, status: str, error: str) -> str:
    job.status, job.error, job.finished_at = status, error, timezone.now()
    if not IMPORTS.leased(job.pk, attempt).update(status=status, error=error, finished_at=job.finished_at):
        return "lost"
    _delete_archive(job)
    if job.accepted:
        compare_added_on_commit(job.dataset)
    return status


def _delete_archive(job: Import) -> None:
    if job.archive.name:
        default_storage.delete(job.archive.name)
        Import.objects.filter(pk=job.pk).update(archive="")
        job.archive.name = ""


# ---------------------------------------------------------------- the run


class _InThisThread:
    """An executor that runs each call at once, in the calling thread."""

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as e:  # noqa: BLE001 - handed over exactly as a thread pool would
            future.set_exception(e)
        return future


def _executor():
    """Return the executor (a context manager) that checks and writes files for this storage."""
    if is_local(default_storage):
        return contextlib.nullcontext(_InThisThread())
    return ThreadPoolExecutor(_THREADS, thread_name_prefix="lux-import")


class _Run:
    """One pass over an archive: this thread reads the archive in order, has each file checked and written
    (by a few threads when the storage is remote), decides duplicates and commits images, report rows and
    counters in timed batches."""

    def __init__(self, job: Import, fileobj: BinaryIO, progress_every: float, resuming: bool, attempt: int):
        self.job = job
        self.attempt = attempt
        self.dataset = job.dataset
        self.fileobj = fileobj
        self.progress_every = progress_every
        self.limits = archive_limits()
        self.classes: dict[str, DatasetClass] = {}
        # Every hash that may be in the dataset, so the usual new image needs no look-up query; staged
        # images get their rows in one insert per batch.
        self.known: set[str] = set()
        self.seen_pk = 0
        self.staged: list[FileOutcome] = []
        # Entries being checked and written, in archive order: (future or outcome, not in the CSV, bytes,
        # whether it is a file). It runs on across batches; a batch commits only what was settled.
        self.window: deque[tuple[Future | FileOutcome, bool, int, bool]] = deque()
        self.window_bytes = 0
        self.batch_files = 0
        # Entries already committed by an earlier attempt at this import.
        self.skip_files = job.done if resuming else 0
        self.skip_skipped = job.skipped if resuming else 0

    def run(self) -> None:
        # The upload was inspected before it was queued; a folder layout's count stands (a 100,000-entry
        # table of contents costs a second or two to walk again). A labels.csv is read here either way.
        layout = self.job.layout or archive_layout(self.fileobj, limits=self.limits)
        labels = parse_labels_csv(read_labels_csv(self.fileobj, limits=self.limits)) if layout == "csv" else None
        self.in_csv = labels is not None
        entries = iter_archive(self.fileobj, limits=self.limits, labels=labels)
        if not (self.job.layout and self.job.total and labels is None):
            total = sum(isinstance(e, ArchiveEntry)
                        for e in iter_archive(self.fileobj, limits=self.limits, labels=labels))
            Import.objects.filter(pk=self.job.pk).update(layout=layout, total=total)
        with _executor() as self.pool:
            stopped: BadArchive | None = None
            more = True
            while more:
                pending: list[FileOutcome] = []
                self.batch_files = 0
                with transaction.atomic():
                    self._learn_new_hashes()
                    try:
                        more = self._fill(entries, pending)
                    except BadArchive as e:  # the archive as a whole went over a limit: keep what came before
                        stopped, more = e, False
                    except BaseException:
                        self._abandon(pending)
                        raise
                    try:
                        if not more:
                            self._drain(pending)
                        self._commit(pending)
                    except BaseException:
                        self._abandon(pending)
                        raise
        if stopped is not None:
            raise stopped

    def _fill(self, entries, pending: list[FileOutcome]) -> bool:
        """Start entries until the batch is due, settling the oldest as the window fills; return whether more remain."""
        deadline = time.monotonic() + self.progress_every
        for item in entries:
            if isinstance(item, SkippedEntry):
                if item.silent:
                    continue
                if self.skip_skipped:
                    self.skip_skipped -= 1
                    continue
                self.window.append((FileOutcome(item.name, "skipped", item.reason, item.message), False, 0, False))
            else:
                if self.skip_files:
                    self.skip_files -= 1
                    continue
                self._start(item)
            while len(self.window) > _WINDOW_FILES or self.window_bytes > _WINDOW_BYTES:
                self._settle_oldest(pending)
            if time.monotonic() >= deadline or len(pending) >= _BATCH_MAX_ITEMS:
                return True
        return False

    def _start(self, entry: ArchiveEntry) -> None:
        """Read the entry (archive order) and hand its bytes to a thread to check and write."""
        try:
            data = entry.read()
        except RejectedFile as e:
            self.window.append((FileOutcome(entry.name, "rejected", e.reason, e.message), False, 0, True))
            return
        try:
            label = self._class(entry.label) if entry.label else None
        except ValidationError as e:
            message = f"the label cannot be used: {e.messages[0]}"
            self.window.append((FileOutcome(entry.name, "rejected", "bad_label", message), False, 0, True))
            return
        future = self.pool.submit(prepare_image, self.dataset, data, name=entry.name, label=label,
                                  split=entry.split, source_import=self.job, known=self.known)
        self.window.append((future, self.in_csv and entry.label is None, len(data), True))
        self.window_bytes += len(data)

    def _settle_oldest(self, pending: list[FileOutcome]) -> None:
        held, unlisted, size, is_file = self.window.popleft()
        self.window_bytes -= size
        self.batch_files += is_file
        outcome = settle(held.result() if isinstance(held, Future) else held, self._might_exist)
        if outcome.accepted:
            self.known.add(outcome.image.sha256)
            self.staged.append(outcome)
            if unlisted:
                outcome.message = _NOT_IN_CSV
        pending.append(outcome)

    def _drain(self, pending: list[FileOutcome]) -> None:
        while self.window:
            self._settle_oldest(pending)

    def _abandon(self, pending: list[FileOutcome]) -> None:
        """Remove the files of this batch's images: their rows roll back with it."""
        outcomes = list(pending)
        while self.window:
            held = self.window.popleft()[0]
            try:
                outcomes.append(held.result() if isinstance(held, Future) else held)
            except Exception:  # noqa: BLE001 - already failing; this is clean-up
                continue
        for outcome in outcomes:
            if outcome.accepted:
                remove_files(outcome.image)
        self.staged = []

    def _might_exist(self, sha256: str) -> bool:
        if sha256 in self.known:
            self._insert_staged()  # the look-up that follows must see this batch's rows
            return True
        return False

    def _learn_new_hashes(self) -> None:
        """Add the hashes of images stored since the last batch (by this import or anyone else)."""
        for pk, sha256 in Image.objects.filter(dataset=self.dataset, pk__gt=self.seen_pk).values_list("pk", "sha256"):
            self.known.add(sha256)
            self.seen_pk = max(self.seen_pk, pk)

    def _insert_staged(self) -> None:
        save_staged(self.staged)
        self.staged = []

    def _class(self, name: str) -> DatasetClass:
        if name not in self.classes:
            self.classes[name] = get_or_create_class(self.dataset, name)
        return self.classes[name]

    def _commit(self, pending: list[FileOutcome]) -> None:
        """Write the batch's images, report rows and the import's counters (inside the batch's transaction)."""
        self._insert_staged()
        insert_items(self.job, pending)
        job = self.job
        for field, n in count_outcomes(pending).items():
            setattr(job, field, getattr(job, field) + n)
        job.done += self.batch_files
        counters = {f: getattr(job, f) for f in ("done", "accepted", "rejected", "duplicates", "conflicts", "skipped")}
        if not IMPORTS.leased(job.pk, self.attempt).update(heartbeat_at=timezone.now(), **counters):
            raise LeaseLost(f"import {job.pk} is no longer held by attempt {self.attempt}")
        if any(o.accepted for o in pending):
            self.dataset.touch()
