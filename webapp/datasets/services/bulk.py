"""Change many images of one dataset at once: relabel, move to a split, delete."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone

from webapp.datasets.models import Dataset, DatasetClass, Image, Split
from webapp.datasets.services.store import remove_files_on_commit
from webapp.datasets.signals import BY_HAND, labels_changed

_CHUNK = 900  # ids per query: below SQLite's oldest limit on query parameters


def relabel(dataset: Dataset, image_ids: Iterable[int], label: DatasetClass | None, *, user=None,
            origin: str = BY_HAND, model_ref: str = "", record: bool = True) -> int:
    """Put the images in class `label` (None: unlabelled); return how many changed class.

    The images whose class really changed are announced by one `labels_changed` signal (the labelling app
    records how each label was made); `record=False` when the caller records them itself.
    """
    if label is not None and label.dataset_id != dataset.pk:
        raise ValidationError("That class belongs to another dataset.")
    ids = _clean_ids(image_ids)
    new = label.pk if label is not None else None
    changes: list[tuple[int, int | None, int | None]] = []
    with transaction.atomic():
        for chunk in _chunks(ids):
            # Locked while read, so the previous classes announced are the ones this update replaced.
            before = (Image.objects.select_for_update().filter(dataset=dataset, deleted_at__isnull=True, pk__in=chunk)
                      .exclude(label=label).values_list("pk", "label_id"))
            moved = [(pk, old, new) for pk, old in before]
            if moved:
                Image.objects.filter(pk__in=[pk for pk, _, _ in moved]).update(label=label)
                changes.extend(moved)
        if changes:
            dataset.touch()
            if record:
                labels_changed.send(sender=Image, dataset=dataset, changes=changes, user=user, origin=origin,
                                    model_ref=model_ref)
    return len(changes)


def move_to_split(dataset: Dataset, image_ids: Iterable[int], split: str) -> int:
    """Move the images to `split` (train, val, test or unassigned); return how many changed."""
    if split not in Split.values:
        raise ValidationError(f"Split must be one of {', '.join(Split.values)}.")
    return _update(dataset, image_ids, split=split)


def delete_images(dataset: Dataset, image_ids: Iterable[int]) -> int:
    """Delete the images; those a version uses are only hidden, keeping their files. Return how many."""
    ids = _clean_ids(image_ids)
    total = 0
    with transaction.atomic():
        for chunk in _chunks(ids):
            total += delete_image_rows(Image.objects.filter(dataset=dataset, deleted_at__isnull=True, pk__in=chunk))
        if total:
            dataset.touch()
    return total


def delete_image_rows(images) -> int:
    """Delete the rows of a queryset of live images (soft when a version uses them); return how many."""
    rows = list(images.only("pk", "file", "thumbnail"))
    in_versions = _kept_ids([img.pk for img in rows])
    gone = [img for img in rows if img.pk not in in_versions]
    now = timezone.now()
    for chunk in _chunks(sorted(in_versions)):
        Image.objects.filter(pk__in=chunk).update(deleted_at=now)
    for chunk in _chunks([img.pk for img in gone]):
        Image.objects.filter(pk__in=chunk).delete()
    remove_files_on_commit(gone)
    return len(rows)


def _kept_ids(ids: list[int]) -> set[int]:
    """Return the ids of images something must keep: a version entry, an evaluation's prediction, ..."""
    keepers = [rel for rel in Image._meta.related_objects if rel.on_delete is models.PROTECT]
    kept: set[int] = set()
    for rel in keepers:  # VersionEntry first among them; other apps' rows pointing at images too
        for chunk in _chunks(ids):
            found = rel.related_model._base_manager.filter(**{f"{rel.field.name}__in": chunk})
            kept.update(found.values_list(rel.field.attname, flat=True))
    return kept


def _update(dataset: Dataset, image_ids: Iterable[int], **values) -> int:
    ids = _clean_ids(image_ids)
    changed = 0
    with transaction.atomic():
        for chunk in _chunks(ids):
            qs = Image.objects.filter(dataset=dataset, deleted_at__isnull=True, pk__in=chunk)
            changed += qs.update(**values)
        if changed:
            dataset.touch()
    return changed


def _clean_ids(image_ids: Iterable[int]) -> list[int]:
    try:
        return sorted({int(i) for i in image_ids})
    except (TypeError, ValueError):
        raise ValidationError("Image ids must be whole numbers.")


def _chunks(ids: list[int]):
    for start in range(0, len(ids), _CHUNK):
        yield ids[start:start + _CHUNK]
