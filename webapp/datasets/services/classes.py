"""Create, rename, merge and delete a dataset's classes.

Positions follow the order of creation and are never re-packed: a gap left by a merge or delete is
harmless, because a version numbers its classes by their order and stores their names.
"""

from __future__ import annotations

import unicodedata

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max

from webapp.datasets.models import Dataset, DatasetClass, Image
from webapp.datasets.services.bulk import delete_image_rows, relabel

MAX_NAME_CHARS = 200


def clean_class_name(name: str) -> str:
    """Return the name as stored (NFC, trimmed), or raise ValidationError saying what is wrong."""
    cleaned = unicodedata.normalize("NFC", name or "").strip()
    if not cleaned:
        raise ValidationError("A class needs a name.")
    if len(cleaned) > MAX_NAME_CHARS:
        raise ValidationError(f"A class name has at most {MAX_NAME_CHARS} characters.")
    if any(not ch.isprintable() for ch in cleaned):
        raise ValidationError("A class name cannot contain control characters.")
    return cleaned


def create_class(dataset: Dataset, name: str) -> DatasetClass:
    """Add a class at the end of the dataset's classes."""
    name = clean_class_name(name)
    with transaction.atomic():
        if dataset.classes.filter(name=name).exists():
            raise ValidationError(f"There is already a class named '{name}'.")
        cls = DatasetClass.objects.create(dataset=dataset, name=name, position=_next_position(dataset))
        dataset.touch()
    return cls


def get_or_create_class(dataset: Dataset, name: str) -> DatasetClass:
    """Return the class named `name` (NFC), creating it at the end when it is new."""
    name = clean_class_name(name)
    found = dataset.classes.filter(name=name).first()
    if found:
        return found
    try:
        with transaction.atomic():
            cls = DatasetClass.objects.create(dataset=dataset, name=name, position=_next_position(dataset))
    except IntegrityError:  # created meanwhile by someone else
        return dataset.classes.get(name=name)
    dataset.touch()
    return cls


def rename_class(cls: DatasetClass, name: str) -> DatasetClass:
    """Give a class a new name (versions keep the name it had)."""
    name = clean_class_name(name)
    with transaction.atomic():
        if cls.dataset.classes.filter(name=name).exclude(pk=cls.pk).exists():
            raise ValidationError(f"There is already a class named '{name}'.")
        cls.name = name
        cls.save(update_fields=["name"])
        cls.dataset.touch()
    return cls


def merge_classes(source: DatasetClass, target: DatasetClass, *, user=None) -> int:
    """Move every image of `source` into `target` and delete `source`; return how many images moved."""
    if source.dataset_id != target.dataset_id:
        raise ValidationError("Classes can only be merged within one dataset.")
    if source.pk == target.pk:
        raise ValidationError("Choose two different classes to merge.")
    dataset = target.dataset
    with transaction.atomic():
        # Through relabel, so each live image's history says who moved it (labels_changed); hidden images follow.
        live = Image.objects.filter(label=source, deleted_at__isnull=True).values_list("pk", flat=True)
        moved = relabel(dataset, live, target, user=user)
        moved += Image.objects.filter(label=source).update(label=target)
        source.delete()
        dataset.touch()
    return moved


def delete_class(cls: DatasetClass, *, delete_images: bool, user=None) -> int:
    """Delete a class with its images, or leave its images unlabelled; return how many images it had."""
    with transaction.atomic():
        images = Image.objects.filter(label=cls, deleted_at__isnull=True)
        if delete_images:
            count = delete_image_rows(images)
        else:
            count = relabel(cls.dataset, images.values_list("pk", flat=True), None, user=user)  # history: unlabelled
        cls.delete()  # soft-deleted images keep no label: versions hold the class index themselves
        cls.dataset.touch()
    return count


def _next_position(dataset: Dataset) -> int:
    top = dataset.classes.aggregate(top=Max("position"))["top"]
    return 0 if top is None else top + 1
