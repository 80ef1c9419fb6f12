"""What a job classifies: its items in order, and how a decoding thread turns one item into pixels.

Each source yields `Item`s; `Inputs.decode(item)` runs in a decoding thread (storage reads, the ZIP
member's bytes, the safety checks, the thumbnail), never touching the database, which stays with the
job's own thread.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from webapp.classify.models import ClassificationJob, JobInput, JobSource
from webapp.classify.services.decode import DecodedImage, decode
from webapp.datasets.archive import ArchiveEntry, SkippedEntry, iter_archive
from webapp.datasets.services.archive_import import archive_limits
from webapp.datasets.services.store import image_limits
from webapp.datasets.validation import RejectedFile


@dataclass
class Item:
    """One image of a job, as the job's thread knows it."""

    position: int
    name: str
    payload: object = None  # JobInput, ArchiveEntry, SkippedEntry or a version entry dict
    image_id: int | None = None
    true_class: int | None = None  # the dataset version's class index
    source: str = ""  # storage name of an uploaded input
    thumbnail: str = ""  # storage name, once written


class Inputs:
    """A job's items and their decoder; use as a context manager (a ZIP stays open while it runs)."""

    def __init__(self, job: ClassificationJob, side: int):
        self.job, self.side = job, side
        self.limits = image_limits()
        self._stack = ExitStack()
        self._zip_lock = threading.Lock()  # one ZIP member is read at a time; decoding stays parallel

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._stack.close()

    def items(self) -> Iterator[Item]:
        """Yield the job's items in input order."""
        return {JobSource.UPLOAD: self._uploads, JobSource.ARCHIVE: self._archive,
                JobSource.VERSION: self._version}[self.job.source]()

    def _uploads(self) -> Iterator[Item]:
        for row in JobInput.objects.filter(job=self.job).order_by("position").iterator(chunk_size=500):
            yield Item(position=row.position, name=row.name, payload=row, source=row.file)

    def _archive(self) -> Iterator[Item]:
        handle = self._stack.enter_context(default_storage.open(self.job.archive.name, "rb"))
        position = 0
        for entry in iter_archive(handle, limits=archive_limits()):
            if isinstance(entry, SkippedEntry) and entry.silent:
                continue  # folders, macOS and Windows clutter: not files anyone meant to classify
            yield Item(position=position, name=entry.name[:500], payload=entry)
            position += 1

    def _version(self) -> Iterator[Item]:
        rows = (self.job.version.entries.filter(split=self.job.split).order_by("pk")
                .values("image_id", "image__file", "image__original_name", "class_index"))
        for position, row in enumerate(rows.iterator(chunk_size=1000)):
            yield Item(position=position, name=(row["image__original_name"] or f"image {row['image_id']}")[:500],
                       payload=row, image_id=row["image_id"], true_class=row["class_index"])

    def decode(self, item: Item) -> DecodedImage:
        """Return the item's pixels (a thread's work); raise RejectedFile or BadArchive when it has none."""
        payload = item.payload
        if isinstance(payload, JobInput):
            if payload.error:
                raise RejectedFile("refused", payload.error)
            with default_storage.open(payload.file, "rb") as handle:
                data = handle.read()
        elif isinstance(payload, SkippedEntry):
            raise RejectedFile(payload.reason, payload.message)
        elif isinstance(payload, ArchiveEntry):
            with self._zip_lock:
                data = payload.read()
        else:
            with default_storage.open(payload["image__file"], "rb") as handle:
                data = handle.read()
        wants_thumbnail = self.job.source != JobSource.VERSION  # dataset images have their own
        decoded = decode(data, self.side, limits=self.limits, thumbnail=wants_thumbnail)
        if decoded.thumbnail:
            name = f"classify/jobs/{self.job.pk}/thumbs/{item.position}.webp"
            default_storage.delete(name)  # a restarted job writes the same names again
            item.thumbnail = default_storage.save(name, ContentFile(decoded.thumbnail))
        return decoded


def input_bytes(job: ClassificationJob, prediction) -> bytes:
    """Return the original bytes of one classified image (for an explanation); FileNotFoundError if gone."""
    if prediction.source:
        name = prediction.source
    elif prediction.image_id is not None and prediction.image is not None:
        name = prediction.image.file.name
    elif job.source == JobSource.ARCHIVE and job.archive:
        # The archive is kept with its job: read the one entry again, with the same limits as the job did.
        with default_storage.open(job.archive.name, "rb") as handle:
            for entry in iter_archive(handle, limits=archive_limits()):
                if isinstance(entry, ArchiveEntry) and entry.name[:500] == prediction.name:
                    return entry.read()
        raise FileNotFoundError(prediction.name)
    else:
        raise FileNotFoundError(prediction.name)
    with default_storage.open(name, "rb") as handle:
        return handle.read()
