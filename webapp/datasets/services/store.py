"""Check one image and store it in a dataset: the one place image files and rows are created or removed."""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Callable, Container
from dataclasses import dataclass, field
from typing import BinaryIO

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction

from webapp.datachecks.hashing import hashes_of
from webapp.datachecks.services.checks import compare_added_on_commit
from webapp.datasets.models import Dataset, DatasetClass, Image, Split
from webapp.datasets.services.rows import insert_images
from webapp.datasets.validation import CheckedImage, Limits, RejectedFile, check_image, make_thumbnail

THUMBNAIL_SIZE = 256
# An original this small that the browser shows as it is, the right way up, is its own thumbnail.
_SELF_THUMBNAIL_FORMATS = {"JPEG", "PNG", "WEBP"}
_SELF_THUMBNAIL_MODES = {"RGB", "L"}
_SELF_THUMBNAIL_MAX_BYTES = 64 * 1024
_EXIF_MARKERS = (b"Exif\0\0", b"eXIf", b"EXIF")  # JPEG APP1, PNG chunk, WebP chunk
# Outcome -> the Import counter it adds to.
_COUNTED = {"accepted": "accepted", "rejected": "rejected", "duplicate": "duplicates", "conflict": "conflicts",
            "skipped": "skipped"}


class _Everything:
    """A `known` that holds every hash: nothing is written before the dataset is asked."""

    def __contains__(self, item) -> bool:
        return True


_EVERYTHING = _Everything()


@dataclass
class FileOutcome:
    """What happened to one file: accepted, duplicate, conflict, rejected or skipped, and why."""

    name: str
    outcome: str  # 'accepted' | 'duplicate' | 'conflict' | 'rejected' | 'skipped'
    reason: str = ""
    message: str = ""
    image: Image | None = None
    existing: Image | None = None  # the image a duplicate or conflict matches
    # (bytes, check) of an accepted image whose files are not written yet.
    unstored: tuple[bytes, CheckedImage] | None = field(default=None, repr=False, compare=False)

    @property
    def accepted(self) -> bool:
        return self.outcome == "accepted"


def image_limits() -> Limits:
    """Return the checking limits from settings."""
    return Limits(max_pixels=settings.LUX_MAX_IMAGE_PIXELS, max_bytes=settings.LUX_MAX_UPLOAD_BYTES)


def add_image(
    dataset: Dataset,
    data: bytes | BinaryIO,
    *,
    name: str,
    label: DatasetClass | None,
    split: str | None = None,
    source_import=None,
    touch: bool = True,
) -> FileOutcome:
    """Check `data`, store it once per dataset with its thumbnail and row, and say what happened.

    touch=False leaves the dataset's revision, and starting the comparison of new images, to the caller (once
    per batch).
    """
    outcome = stage_image(dataset, data, name=name, label=label, split=split, source_import=source_import)
    if outcome.accepted:
        save_staged([outcome])
        if touch:
            dataset.touch()
            compare_added_on_commit(dataset)
    return outcome


def stage_image(
    dataset: Dataset,
    data: bytes | BinaryIO,
    *,
    name: str,
    label: DatasetClass | None,
    split: str | None = None,
    source_import=None,
    might_exist: Callable[[str], bool] | None = None,
) -> FileOutcome:
    """Check one image, find a copy already in the dataset, else store its files; the row stays unsaved."""
    outcome = prepare_image(dataset, data, name=name, label=label, split=split, source_import=source_import,
                            known=_EVERYTHING)
    return settle(outcome, might_exist)


def prepare_image(
    dataset: Dataset,
    data: bytes | BinaryIO,
    *,
    name: str,
    label: DatasetClass | None,
    split: str | None = None,
    source_import=None,
    known: Container[str] = frozenset(),
) -> FileOutcome:
    """Check one image and store its files unless its hash is in `known`; no database query (thread-safe)."""
    if label is not None and label.dataset_id != dataset.pk:
        raise ValueError(f"class {label.pk} belongs to another dataset")
    split = split or Split.UNASSIGNED
    if split not in Split.values:
        raise ValueError(f"split must be one of {', '.join(Split.values)}, not {split!r}")
    try:
        raw = _read_capped(data, image_limits())
        checked = check_image(raw, limits=image_limits())
    except RejectedFile as e:
        return FileOutcome(name, "rejected", e.reason, e.message)
    image = Image(dataset=dataset, sha256=checked.sha256, width=checked.width, height=checked.height,
                  format=checked.format, size_bytes=checked.size_bytes, label=label, split=split,
                  original_name=display_name(name), source_import=source_import)
    outcome = FileOutcome(name, "accepted", image=image)
    outcome.unstored = (raw, checked)
    if checked.sha256 not in known:  # probably new: write now (a copy found later is removed again)
        _store(outcome)
    return outcome


def settle(outcome: FileOutcome, might_exist: Callable[[str], bool] | None = None) -> FileOutcome:
    """Turn a prepared outcome into a duplicate or conflict when the dataset has its bytes, else store its files."""
    if not outcome.accepted:
        return outcome
    image = outcome.image
    if might_exist is None or might_exist(image.sha256):
        existing = _live_with_hash(image.dataset, image.sha256)
        if existing is not None:
            remove_files(image)
            matched = _matched(outcome.name, existing, image.label)
            outcome.unstored = None
            return matched
    if outcome.unstored is not None:
        _store(outcome)
    return outcome


def _store(outcome: FileOutcome) -> None:
    """Write the outcome's file and thumbnail; a thumbnail that cannot be made rejects the file."""
    raw, checked = outcome.unstored
    outcome.unstored = None
    try:
        _store_files(outcome.image, raw, checked)
    except RejectedFile as e:
        remove_files(outcome.image)
        outcome.outcome, outcome.reason, outcome.message, outcome.image = "rejected", e.reason, e.message, None
    except BaseException:
        remove_files(outcome.image)
        raise


def save_staged(outcomes: list[FileOutcome]) -> None:
    """Insert the rows of staged images; one whose bytes arrived meanwhile becomes a duplicate, files removed."""
    staged = [o for o in outcomes if o.accepted and o.image.pk is None]
    if not staged:
        return
    try:
        with transaction.atomic():  # a savepoint inside an import's batch
            insert_images([o.image for o in staged])
        return
    except IntegrityError:
        for o in staged:
            o.image.pk = None  # bulk_create may have set them before the rollback
    except BaseException:
        for o in staged:
            remove_files(o.image)
        raise
    for o in staged:  # someone stored the same bytes between our look-up and our insert: find which
        _save_one(o)


def _save_one(outcome: FileOutcome) -> None:
    image = outcome.image
    try:
        with transaction.atomic():
            image.save(force_insert=True)
    except IntegrityError:
        remove_files(image)
        existing = _live_with_hash(image.dataset, image.sha256)
        if existing is None:
            raise
        matched = _matched(outcome.name, existing, image.label)
        outcome.outcome, outcome.reason, outcome.message = matched.outcome, matched.reason, matched.message
        outcome.image, outcome.existing = None, existing
    except BaseException:
        remove_files(image)
        raise


def display_name(name: str) -> str:
    """Return the file name part of an upload's name or archive path, for display only."""
    base = name.replace("\\", "/").rstrip("/").rpartition("/")[2] or name
    return base[:500]


def remove_files(image: Image) -> None:
    """Delete an image's file and thumbnail from storage (missing files are fine)."""
    names = {image.file.name, image.thumbnail.name} - {"", None}
    for stored in names:
        default_storage.delete(stored)


def remove_files_on_commit(images) -> None:
    """Delete the files of `images` once the current transaction commits (a rollback keeps them)."""
    names = [(img.file.name, img.thumbnail.name) for img in images]

    def delete():
        for pair in names:
            for stored in set(pair) - {"", None}:
                default_storage.delete(stored)

    transaction.on_commit(delete)


def count_outcomes(outcomes) -> dict[str, int]:
    """Return Import counter fields -> how many outcomes fell in each."""
    counts = Counter(_COUNTED[o.outcome] for o in outcomes)
    return {field: counts.get(field, 0) for field in _COUNTED.values()}


# ---------------------------------------------------------------- helpers


def _read_capped(data: bytes | BinaryIO, limits: Limits) -> bytes:
    """Return the upload's bytes, reading a stream no further than the size limit (check_image says why)."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    if data.seekable():
        data.seek(0, io.SEEK_END)
        if data.tell() > limits.max_bytes:
            check_image(data, limits=limits)  # raises RejectedFile naming the real size
        data.seek(0)
    return data.read(limits.max_bytes + 1)


def _live_with_hash(dataset: Dataset, sha256: str) -> Image | None:
    return (Image.objects.filter(dataset=dataset, sha256=sha256, deleted_at__isnull=True)
            .select_related("label").order_by("pk").first())


def _matched(name: str, existing: Image, label: DatasetClass | None) -> FileOutcome:
    where = f"'{existing}' (image {existing.pk})"
    if label is not None and existing.label_id is not None and existing.label_id != label.pk:
        message = (f"label conflict: the same file as {where} in class '{existing.label.name}', "
                   f"not '{label.name}'; it was not stored twice")
        return FileOutcome(name, "conflict", "label_conflict", message, existing=existing)
    return FileOutcome(name, "duplicate", "duplicate",
                       f"duplicate: the same file as {where}, already in this dataset", existing=existing)


def _store_files(image: Image, raw: bytes, checked: CheckedImage) -> None:
    """Write the file and its thumbnail through the storage API under generated names."""
    # Straight to the storage with the generated name: FieldFile.save would re-derive and re-check the
    # same name through upload_to at a cost (~0.08 ms) comparable to decoding a small JPEG.
    image.file.name = _save_generated(image, "file", raw)
    image.phash, image.phash_crops = hashes_of(raw)  # near-duplicate checks (webapp.datachecks) read them
    if _is_own_thumbnail(raw, checked):
        image.thumbnail.name = image.file.name
    else:
        image.thumbnail.name = _save_generated(image, "thumbnail", make_thumbnail(raw, size=THUMBNAIL_SIZE))


def _save_generated(image: Image, field_name: str, data: bytes) -> str:
    """Save `data` under the field's generated name (upload_to); return the name actually used."""
    field = image._meta.get_field(field_name)
    return field.storage.save(field.upload_to(image, ""), ContentFile(data), max_length=field.max_length)


def _is_own_thumbnail(raw: bytes, checked: CheckedImage) -> bool:
    """Return whether the original is small, browser-ready and the right way up already."""
    head = raw[:65536]
    return (checked.format in _SELF_THUMBNAIL_FORMATS and checked.mode in _SELF_THUMBNAIL_MODES
            and checked.frames == 1 and max(checked.width, checked.height) <= THUMBNAIL_SIZE
            and checked.size_bytes <= _SELF_THUMBNAIL_MAX_BYTES
            and not any(marker in head for marker in _EXIF_MARKERS))
