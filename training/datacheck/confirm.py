"""Confirm near-duplicate candidates by correlating small grey thumbnails after searching for the best alignment.

The crop-aware pHash (`groups.near_pairs_cropped`) finds every planted copy but also look-alike tiles (two
patches of the same gravel, two lines of the same page). A copy and its original agree pixel by pixel once
aligned; look-alikes only agree in their lowest frequencies. Only candidate pairs are confirmed (a few per
hundred images), so a fine search (the whole and 3 scales x 5 x 5 offsets, both ways) is affordable.
Measured on planted photo tiles, seeds 0-9 of bench/data_checks.py: copies correlate >= 0.948, the look-alike
candidates <= 0.908; MIN_SIMILARITY sits between.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from PIL import Image

from training.datacheck.tiny import MAX_RMSE, Variants, is_tiny, tiny_distance

THUMB = 16  # thumbnail side: enough to tell a copy from a look-alike
SCALES = (0.95, 0.925, 0.90)  # a 5-10% cropped copy covers 90-95% of its original
OFFSETS = 5  # anchors per axis for each scale
MIN_SIMILARITY = 0.93


def _thumb(image: Image.Image) -> np.ndarray:
    """Return a THUMB x THUMB grey thumbnail as a zero-mean unit vector (THUMB * THUMB,)."""
    # BOX averages every source pixel when shrinking (as a resized copy's own resize did); bilinear to enlarge.
    method = Image.Resampling.BOX if min(image.size) >= THUMB else Image.Resampling.BILINEAR
    v = np.asarray(image.convert("L").resize((THUMB, THUMB), method), dtype=np.float32).ravel()
    v = v - v.mean()
    norm = np.linalg.norm(v)
    return v / norm if norm > 0 else v


def _crops(image: Image.Image) -> np.ndarray:
    """Return (1 + len(SCALES) * OFFSETS^2, THUMB^2): thumbnails of the whole image and of its anchored crops."""
    width, height = image.size
    boxes = [(0, 0, width, height)]
    for scale in SCALES:
        w, h = max(1, round(width * scale)), max(1, round(height * scale))
        for fy in np.linspace(0, 1, OFFSETS):
            for fx in np.linspace(0, 1, OFFSETS):
                left, top = round((width - w) * fx), round((height - h) * fy)
                boxes.append((left, top, left + w, top + h))
    return np.stack([_thumb(image.crop(box)) for box in boxes])


def aligned_similarity(a: Image.Image, b: Image.Image) -> float:
    """Return the best correlation (-1..1) of one image's whole thumbnail with the other's whole or crops."""
    return float(max((_crops(a) @ _thumb(b)).max(), (_crops(b) @ _thumb(a)).max()))


def confirmed(pairs: Sequence[tuple[int, int]], image_of: Callable[[int], Image.Image | None],
              min_similarity: float = MIN_SIMILARITY, *, pixels: bool = True) -> list[tuple[int, int]]:
    """Return the candidate pairs whose aligned thumbnails correlate at least `min_similarity`.

    `image_of(i)` opens image i; each image is opened and thumbnailed once however many pairs it is in. A pair
    with an image `image_of` cannot open (None) is kept: its hashes say near and nothing says otherwise. A pair
    of tiny images is compared pixel by pixel instead (`tiny.tiny_distance` <= `tiny.MAX_RMSE`) unless `pixels`
    is False.
    """
    opened: dict[int, Image.Image | None] = {}
    thumbs: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    tiny: dict[int, Variants | None] = {}

    def image(i: int) -> Image.Image | None:
        if i not in opened:
            opened[i] = image_of(i)
        return opened[i]

    def thumbs_of(i: int) -> tuple[np.ndarray, np.ndarray]:
        if i not in thumbs:
            thumbs[i] = (_thumb(opened[i]), _crops(opened[i]))
        return thumbs[i]

    def tiny_of(i: int) -> Variants | None:
        if i not in tiny:
            tiny[i] = Variants(opened[i]) if pixels and is_tiny(opened[i]) else None
        return tiny[i]

    kept = []
    for a, b in pairs:
        if image(a) is None or image(b) is None:
            kept.append((a, b))
            continue
        tiny_a, tiny_b = tiny_of(a), tiny_of(b)
        if tiny_a is not None and tiny_b is not None:
            # Two tiny images: thumbnails of two handwritten samples correlate as closely as a copy's do.
            if tiny_distance(tiny_a, tiny_b) <= MAX_RMSE:
                kept.append((a, b))
            continue
        (whole_a, crops_a), (whole_b, crops_b) = thumbs_of(a), thumbs_of(b)
        if max((crops_a @ whole_b).max(), (crops_b @ whole_a).max()) >= min_similarity:
            kept.append((a, b))
    return kept
