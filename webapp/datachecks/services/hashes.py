"""Fill in the perceptual hash of images stored before ingest computed it (the check job does this first)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.core.files.storage import default_storage

from webapp.datachecks.hashing import phash_of
from webapp.datasets.models import Image

log = logging.getLogger(__name__)
_CHUNK = 500


def fill_missing(image_ids: list[int], *, on_progress: Callable[[int, int], None] | None = None,
                 stop: Callable[[], bool] | None = None) -> tuple[int, int]:
    """Compute and store the hash of each image in `image_ids` that has none; return (filled, unreadable)."""
    filled = unreadable = 0
    total = len(image_ids)
    for start in range(0, total, _CHUNK):
        if stop is not None and stop():
            break
        chunk = image_ids[start:start + _CHUNK]
        for pk, name in Image.objects.filter(pk__in=chunk, phash__isnull=True).values_list("pk", "file"):
            value = _hash_file(name)
            if value is None:
                unreadable += 1
            else:
                Image.objects.filter(pk=pk, phash__isnull=True).update(phash=value)
                filled += 1
        if on_progress is not None:
            on_progress(min(start + _CHUNK, total), total)
    return filled, unreadable


def missing_ids(images) -> list[int]:
    """Return the ids of a queryset of images that have no hash yet."""
    return list(images.filter(phash__isnull=True).order_by("pk").values_list("pk", flat=True))


def _hash_file(name: str) -> int | None:
    try:
        with default_storage.open(name, "rb") as f:
            return phash_of(f.read())
    except OSError:
        log.warning("image file %s could not be read for its hash", name)
        return None
