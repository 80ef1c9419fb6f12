"""The one place runs read datasets: versions to train on, their records, sources and per-class split counts."""

from __future__ import annotations

import functools
import hashlib
from collections import defaultdict

from django.core.files.storage import default_storage
from django.db.models import Count

from webapp.datasets.models import DatasetClass, DatasetVersion, Image, Split, VersionEntry

TRAINING_SPLITS = (Split.TRAIN.value, Split.VAL.value, Split.TEST.value)


def _versions_service():
    """Return the datasets app's version service module (frozen versions are its business)."""
    from webapp.datasets.services import versions

    return versions


def latest_version(dataset) -> DatasetVersion | None:
    """Return the dataset's newest version, or None."""
    return DatasetVersion.objects.filter(dataset=dataset).order_by("-number").first()


def dataset_changed(dataset) -> bool:
    """Return True when the dataset has no version yet or changed since its last one."""
    return _versions_service().dataset_changed_since_last_version(dataset)


def version_for_launch(dataset, *, user) -> DatasetVersion:
    """Return the version a new run should train on: the latest one, or a new one if the dataset changed."""
    if dataset_changed(dataset):
        return _versions_service().freeze_version(dataset, user=user, note="frozen for a training run")
    return latest_version(dataset)


def version_records(version) -> tuple[list[tuple[int, str, int, str]], list[str]]:
    """Return ([(image_id, storage_name, class_index, split)], class_names) of the train/val/test images."""
    records, class_names = _versions_service().version_records(version)
    return [r for r in records if r[3] in TRAINING_SPLITS], list(class_names)


def storage_source(name: str):
    """Return what the engine opens for a stored file: its path on local disk, else an opener."""
    try:
        return default_storage.path(name)
    except NotImplementedError:  # object storage: read through the storage API
        return functools.partial(default_storage.open, name, "rb")


def version_source(version, *, splits=None, label_map: dict[int, int] | None = None,
                   class_names: list[str] | None = None):
    """Return (DataSource, image ids by record index) for a version's train/val/test images."""
    from training.data import DataSource, ImageRecord

    rows, names = version_records(version)
    rows = sorted((r for r in rows if splits is None or r[3] in splits), key=lambda r: (r[3], r[0]))
    if label_map is not None:
        rows = [(image_id, name, label_map[label], split) for image_id, name, label, split in rows]
    records = [ImageRecord(storage_source(name), label, split) for _, name, label, split in rows]
    # The key names the exact records (order, labels, splits), so a cache is reused only for the same ones.
    digest = hashlib.sha256(repr([(r[0], r[2], r[3]) for r in rows]).encode()).hexdigest()[:16]
    key = f"lux-version-{version.pk}-{version.content_hash[:16]}-{digest}"
    return DataSource(records=records, class_names=list(class_names or names), key=key), [r[0] for r in rows]


def version_counts(version) -> tuple[list[str], dict[str, dict[str, int]]]:
    """Return (class names, {class name: {split: images}}) of a frozen version."""
    names = list(version.class_names)
    per_class = (version.counts or {}).get("per_class")
    if per_class is None:
        rows = (VersionEntry.objects.filter(version=version).values("class_index", "split")
                .annotate(n=Count("id")))
        per_class = defaultdict(dict)
        for row in rows:
            if row["class_index"] < len(names):
                per_class[names[row["class_index"]]][row["split"]] = row["n"]
    return names, {name: dict(per_class.get(name, {})) for name in names}


def live_counts(dataset) -> tuple[list[str], dict[str, dict[str, int]]]:
    """Return (class names, {class name: {split: images}}) as freezing the dataset now would make them.

    Like a frozen version, only live labelled images in train/val/test count, and classes without any drop out.
    """
    rows = (Image.objects.filter(dataset=dataset, deleted_at__isnull=True, label__isnull=False,
                                 split__in=TRAINING_SPLITS)
            .values("label_id", "split").annotate(n=Count("id")))
    per_label: dict[int, dict[str, int]] = defaultdict(dict)
    for row in rows:
        per_label[row["label_id"]][row["split"]] = row["n"]
    classes = DatasetClass.objects.filter(dataset=dataset, pk__in=per_label).order_by("position", "pk")
    names = [c.name for c in classes]
    return names, {c.name: per_label[c.pk] for c in classes}


def counts_for_launch(dataset, version=None) -> tuple[list[str], dict[str, dict[str, int]]]:
    """Return the counts a launch would train on: the chosen version's, or the dataset's as it would be frozen."""
    if version is not None:
        return version_counts(version)
    latest = latest_version(dataset)
    if latest is not None and not dataset_changed(dataset):
        return version_counts(latest)
    return live_counts(dataset)


SIZE_SAMPLE = 2000  # image sizes read for a median: plenty for a median, one cheap query on any dataset


def training_image_sizes(dataset, version=None) -> list[tuple[int, int]]:
    """Return (width, height) of up to SIZE_SAMPLE training images a launch would use, from the Image rows."""
    if version is not None:
        images = Image.objects.filter(version_entries__version=version, version_entries__split=Split.TRAIN)
    else:  # the images as freezing the dataset now would take them (unchanged data: the latest version's)
        images = Image.objects.filter(dataset=dataset, deleted_at__isnull=True, label__isnull=False,
                                      split=Split.TRAIN)
    return list(images.order_by("pk").values_list("width", "height")[:SIZE_SAMPLE])
