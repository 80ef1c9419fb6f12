"""Find near-copies among a check's tiny images (at most 16 px a side) pixel by pixel, as the hashes cannot.

A pHash reads a 32x32 thumbnail: an 8x8 digit blown up to it loses what tells two samples apart, so the crop
hashes miss copies that were shaved by a pixel and resized, and group look-alikes that the confirm step then
drops. `training.datacheck.tiny` compares such images at their own size instead; bench/data_checks.py searches
with it and confirms its pairs with `confirm.confirmed`, and so does the check job here (never a page view: the
search is quadratic in the tiny images).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from training.datacheck.confirm import confirmed
from training.datacheck.tiny import MAX_RMSE, TINY, tiny_distances
from webapp.datachecks.services.hashes import stored_grey

_CHUNK = 500


def as_bits(rmse: float, scale: int) -> int:
    """Return the "distance in bits" a check stores for a pixel pair `rmse` grey levels apart."""
    # A pixel pair has no hash distance that means anything (the hashes miss it), but pages filter stored pairs
    # by bits <= threshold. RMSE 0..MAX_RMSE maps linearly onto 0..`scale` (the default threshold), rounded up:
    # every pixel pair shows at the default threshold, an identical copy at any threshold (0 bits), and a page
    # asking for fewer bits (stricter) keeps only the pixel pairs proportionally closer.
    return min(scale, max(0, math.ceil(rmse * scale / MAX_RMSE - 1e-9)))


def tiny_pairs(images, scale: int, *, among: set[int] | None = None,
               on_progress: Callable[[int, int], None] | None = None,
               stop: Callable[[], bool] | None = None) -> dict[tuple[int, int], int]:
    """Return {(id, id): bits} of the confirmed pixel near-copies among a queryset's images of <= TINY px a side.

    Each tiny file is read and decoded once (as the hashes see it: grey, upright); its pixels are all that is
    kept, a few hundred bytes an image. `among`: image ids; only pairs with one of them (new images against all).
    """
    if among is not None and not images.filter(pk__in=among, width__lte=TINY, height__lte=TINY).exists():
        return {}  # no new tiny image: nothing to read
    rows = list(images.filter(width__lte=TINY, height__lte=TINY).order_by("pk").values_list("pk", "file"))
    total = len(rows)
    ids, pictures = [], []
    for start in range(0, total, _CHUNK):
        if stop is not None and stop():
            return {}
        for pk, name in rows[start:start + _CHUNK]:
            picture = stored_grey(name)
            if picture is not None:  # unreadable: no pixels to compare (the hashes' step says so too)
                ids.append(pk)
                pictures.append(picture)
        if on_progress is not None:
            on_progress(min(start + _CHUNK, total), total)
    if len(pictures) < 2:
        return {}
    chosen = None if among is None else {i for i, pk in enumerate(ids) if pk in among}
    near = tiny_distances(pictures, among=chosen)  # it keeps only images tiny.is_tiny accepts: the stored size agrees
    kept = confirmed(sorted(near), pictures.__getitem__)  # as the bench does: tiny pairs confirm by pixels too
    return {(ids[a], ids[b]): as_bits(near[(a, b)], scale) for a, b in kept}
