"""Fill in the perceptual hashes of images stored before ingest computed them (the check job does this first)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.core.files.storage import default_storage
from django.db.models import Q

from webapp.datachecks.hashing import grey_of, hashes_of
from webapp.datasets.models import Image

log = logging.getLogger(__name__)
_CHUNK = 500
_MISSING = Q(phash__isnull=True) | Q(phash_crops__isnull=True)  # crop hashes came later than the whole hash


def fill_missing(image_ids: list[int], *, on_progress: Callable[[int, int], None] | None = None,
                 stop: Callable[[], bool] | None = None) -> tuple[int, int]:
    """Compute and store the hashes of each image in `image_ids` that lacks them; return (filled, unreadable)."""
    filled = unreadable = 0
    total = len(image_ids)
    for start in range(0, total, _CHUNK):
        if stop is not None and stop():
            break
        chunk = image_ids[start:start + _CHUNK]
        for pk, name in Image.objects.filter(_MISSING, pk__in=chunk).values_list("pk", "file"):
            whole, crops = _hash_file(name)
            if whole is None:
                unreadable += 1
            else:
                Image.objects.filter(_MISSING, pk=pk).update(phash=whole, phash_crops=crops)
                filled += 1
        if on_progress is not None:
            on_progress(min(start + _CHUNK, total), total)
    return filled, unreadable


def missing_ids(images) -> list[int]:
    """Return the ids of a queryset of images that lack a hash or crop hashes."""
    return list(images.filter(_MISSING).order_by("pk").values_list("pk", flat=True))


def missing_among(rows) -> list[int]:
    """Return the ids among (id, hash, crop hashes, ...) rows that lack a hash or crop hashes (as _MISSING)."""
    return [row[0] for row in rows if row[1] is None or row[2] is None]


def _hash_file(name: str) -> tuple[int | None, bytes | None]:
    try:
        with default_storage.open(name, "rb") as f:
            return hashes_of(f.read())
    except OSError:
        log.warning("image file %s could not be read for its hash", name)
        return None, None


def stored_grey(name: str | None):
    """Return a stored image file as the hashes see it (hashing.grey_of), or None if it cannot be read."""
    try:
        with default_storage.open(name, "rb") as f:
            return grey_of(f.read())
    except (OSError, TypeError, ValueError):  # gone, or no file name at all
        log.warning("image file %s could not be read to compare it", name)
        return None
