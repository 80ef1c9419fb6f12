"""Freeze immutable dataset versions, read them back for training, and export them as a streamed ZIP."""

from __future__ import annotations

import hashlib
import io
import json
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Iterator

from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Count, Q

from webapp.core.csvsafe import csv_writer
from webapp.datachecks.services.checks import check_version
from webapp.datasets.models import Dataset, DatasetClass, DatasetVersion, Image, Split, VersionEntry
from webapp.datasets.signals import version_frozen

SPLITS = (Split.TRAIN, Split.VAL, Split.TEST)
_READ_CHUNK = 1024 * 1024


def dataset_changed_since_last_version(dataset: Dataset) -> bool:
    """Return whether images, classes or splits changed since the latest version (True when none exists)."""
    revision = Dataset.objects.filter(pk=dataset.pk).values_list("revision", flat=True).first()
    latest = dataset.versions.order_by("-number").values_list("revision", flat=True).first()
    return latest is None or latest != revision


def freeze_version(dataset: Dataset, *, user, note: str = "") -> DatasetVersion:
    """Return a version of every live labelled image in train/val/test (the latest one when nothing changed)."""
    with transaction.atomic():
        dataset = Dataset.objects.select_for_update().get(pk=dataset.pk)
        latest = dataset.versions.order_by("-number").first()
        if latest is not None and latest.revision == dataset.revision:
            return latest
        rows = list(Image.objects.filter(dataset=dataset, deleted_at__isnull=True, label__isnull=False,
                                         split__in=SPLITS).order_by("pk")
                    .values_list("pk", "label_id", "split", "sha256"))
        if not rows:
            raise ValidationError("Nothing to freeze: no image has both a class and a train, val or test split.")
        used = {label_id for _, label_id, _, _ in rows}
        every = list(DatasetClass.objects.filter(dataset=dataset).order_by("position", "pk").values_list("pk", "name"))
        index = {pk: i for i, pk in enumerate(pk for pk, _ in every if pk in used)}
        names = [name for pk, name in every if pk in used]
        empty = [name for pk, name in every if pk not in used]
        content_hash = _content_hash(names, [(sha, index[label], split) for _, label, split, sha in rows])
        if latest is not None and latest.content_hash == content_hash:
            return latest  # changed and changed back: the same content needs no second version
        number = latest.number + 1 if latest is not None else 1  # the latest is the highest number
        version = DatasetVersion.objects.create(
            dataset=dataset, number=number, revision=dataset.revision, class_names=names,
            counts=_counts(dataset, rows, index, names, empty), content_hash=content_hash, note=note[:300],
            created_by=user)
        VersionEntry.objects.bulk_create(
            (VersionEntry(version=version, image_id=pk, class_index=index[label], split=split)
             for pk, label, split, _ in rows), batch_size=2000)
        check_version(version)  # webapp.datachecks: record its near-duplicate and leakage check with it
        version_frozen.send(sender=DatasetVersion, version=version)  # labelling: its labels counted by origin
    return version


def version_records(version: DatasetVersion) -> tuple[list[tuple[int, str, int, str]], list[str]]:
    """Return ([(image id, storage name, class index, split)], class names) of a version, for training."""
    records = list(version.entries.order_by("pk").values_list("image_id", "image__file", "class_index", "split"))
    return records, list(version.class_names)


def export_version_zip(version: DatasetVersion) -> Iterator[bytes]:
    """Yield an ImageFolder ZIP (split/class/image) of a version piece by piece, never whole in memory.

    Files keep their original names (made safe, and made distinct within a folder: "leaf (2).jpg");
    manifest.csv maps each path to its class, split, checksum and original name.
    """
    sink = _Sink()
    folders = class_folders(version.class_names)
    manifest = io.StringIO()
    writer = csv_writer(manifest)  # names are user input: no cell may run as a spreadsheet formula
    writer.writerow(["path", "class", "split", "sha256", "original_name"])
    entries = (version.entries.order_by("split", "class_index", "image_id")
               .values_list("image_id", "image__file", "image__format", "image__sha256", "image__original_name",
                            "class_index", "split"))
    taken: set[str] = set()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        for image_id, stored, fmt, sha, original, class_index, split in entries.iterator(chunk_size=2000):
            folder = f"{split}/{folders[class_index]}"
            path = f"{folder}/{_file_name(original, image_id, Image(format=fmt).extension, folder, taken)}"
            info = zipfile.ZipInfo(path, date_time=(2000, 1, 1, 0, 0, 0))
            with default_storage.open(stored, "rb") as src, zf.open(info, "w") as dst:
                while chunk := src.read(_READ_CHUNK):
                    dst.write(chunk)
                    yield from sink.take()
            writer.writerow([path, version.class_names[class_index], split, sha, original])
            yield from sink.take()
        about = {"dataset": version.dataset.name, "version": version.number, "class_names": version.class_names,
                 "counts": version.counts, "content_hash": version.content_hash}
        zf.writestr(zipfile.ZipInfo("manifest.csv", date_time=(2000, 1, 1, 0, 0, 0)), manifest.getvalue())
        zf.writestr(zipfile.ZipInfo("version.json", date_time=(2000, 1, 1, 0, 0, 0)), json.dumps(about, indent=2))
    yield from sink.take()


def export_filename(version: DatasetVersion) -> str:
    """Return the download name of a version's ZIP, in plain ASCII."""
    name = unicodedata.normalize("NFKD", version.dataset.name).encode("ascii", "ignore").decode()
    slug = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in name).strip("-") or "dataset"
    return f"{slug[:60]}-v{version.number}.zip"


def class_folders(class_names: list[str]) -> list[str]:
    """Return one safe, distinct folder name per class (no slashes, no leading dots)."""
    folders, seen = [], set()
    for i, name in enumerate(class_names):
        folder = "".join("_" if ch in "/\\:" or not ch.isprintable() else ch for ch in name).strip() or f"class_{i}"
        if folder.startswith("."):
            folder = "_" + folder
        if folder.lower() in seen:
            folder = f"{folder}_{i}"
        seen.add(folder.lower())
        folders.append(folder)
    return folders


# ---------------------------------------------------------------- helpers

_EXTENSIONS = {"jpg": {"jpg", "jpeg", "jpe"}, "tif": {"tif", "tiff"}}
_MAX_STEM = 120


def _file_name(original: str, image_id: int, extension: str, folder: str, taken: set[str]) -> str:
    """Return the image's original file name made safe for a ZIP entry and not yet used in `folder`."""
    # Original names are what the uploader sent (an archive's inner path, a browser's file name): keep the last
    # part only, without separators, control characters or a leading dot, and with the extension of the real format.
    name = original.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join("_" if ch in ":" or not ch.isprintable() else ch for ch in name).strip().lstrip(".")
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    if ext.lower() not in _EXTENSIONS.get(extension, {extension}):
        stem = name  # a missing or wrong extension: keep it in the stem, add the real one
        ext = extension
    stem = stem.strip()[:_MAX_STEM] or str(image_id)
    candidate, copy = f"{stem}.{ext}", 1
    while f"{folder}/{candidate}".lower() in taken:  # case-insensitive: the ZIP may be unpacked on macOS or Windows
        copy += 1
        candidate = f"{stem} ({copy}).{ext}"
    taken.add(f"{folder}/{candidate}".lower())
    return candidate



def _content_hash(names: list[str], entries: list[tuple[str, int, str]]) -> str:
    """Return a sha256 of the class names and every (image bytes hash, class, split): same content, same hash."""
    digest = hashlib.sha256(json.dumps(names, ensure_ascii=False).encode())
    for sha, class_index, split in sorted(entries):
        digest.update(f"\n{sha} {class_index} {split}".encode())
    return digest.hexdigest()


def _counts(dataset: Dataset, rows, index: dict[int, int], names: list[str], empty: list[str]) -> dict:
    per_split = Counter(split for _, _, split, _ in rows)
    per_class: dict[str, dict[str, int]] = {n: {s: 0 for s in SPLITS} for n in names}
    for _, label, split, _ in rows:
        per_class[names[index[label]]][split] += 1
    left = Image.objects.filter(dataset=dataset, deleted_at__isnull=True).aggregate(
        unlabelled=Count("pk", filter=Q(label__isnull=True)),
        unassigned=Count("pk", filter=Q(label__isnull=False, split=Split.UNASSIGNED)))
    return {
        "total": len(rows),
        "per_split": {s: per_split.get(s, 0) for s in SPLITS},
        "per_class": per_class,
        # What the dataset held that this version leaves out, so nobody wonders where it went.
        "left_out": {
            "unlabelled": left["unlabelled"],
            "unassigned": left["unassigned"],
            "empty_classes": empty,
        },
    }


class _Sink(io.RawIOBase):
    """A write-only, unseekable file that hands back what was written since the last take()."""

    def __init__(self):
        super().__init__()
        self._parts: list[bytes] = []
        self._pos = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._parts.append(bytes(data))
        self._pos += len(data)
        return len(data)

    def tell(self) -> int:
        return self._pos

    def seekable(self) -> bool:
        return False

    def take(self) -> Iterator[bytes]:
        if self._parts:
            chunk, self._parts = b"".join(self._parts), []
            yield chunk
