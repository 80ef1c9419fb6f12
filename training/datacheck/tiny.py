"""Find near-copies among tiny images (at most 16 px a side) by comparing their pixels, not hashes.

A pHash reads a 32x32 thumbnail: an 8x8 digit blown up to it loses what tells two handwritten samples apart, and
its 32x32 aligned thumbnails correlate as closely between two samples of one class (up to 0.98) as between an
image and its copy. At their own resolution copies are told apart from look-alikes by what made them: each
image's variants (itself, its windows one pixel smaller per side, and its JPEG re-encodes at QUALITIES) are
resized to the other image's own size with the resampling that resizes images (bilinear), and compared with its
pixels. A resized or cropped copy then matches to within rounding, and a re-encoded copy matches the original
re-encoded at a nearby quality (JPEG on 8x8 pixels is one DCT block: the copy's error is the quantisation the
re-encode repeats). Measured on scikit-learn's digits with planted copies (bench/data_checks.py's planting, seeds
0-4 one at a time): resized and cropped copies sit within 2 grey levels (RMSE), re-encoded ones mostly within 9;
at MAX_RMSE = 9 the pairs found have recall 0.956-0.978 and precision 0.946-0.989 per seed (8: better precision,
recall down to 0.91; 10: recall up to 1.00, precision down to 0.88). The misses are re-encodes at the lowest
qualities; the false pairs are mostly a copy against another sample of the same digit (about 6-9 levels apart).
Not tuned on a held-out set: the threshold was picked on these five seeds.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Sequence

import numpy as np
from PIL import Image

TINY = 16  # images at most this many pixels a side are compared here
QUALITIES = tuple(range(30, 100, 5))  # JPEG re-encodes tried: a copy saved at any quality is near one of them
SHAVE = 1  # windows one pixel smaller per side: a crop of an 8 px image takes at least one
MAX_RMSE = 9.0  # grey levels (0-255)


def is_tiny(image: Image.Image) -> bool:
    """Return whether an image is small enough to be compared pixel by pixel here."""
    return max(image.size) <= TINY


def _grey(image: Image.Image) -> Image.Image:
    return image if image.mode == "L" else image.convert("L")


def _variants(image: Image.Image) -> list[Image.Image]:
    """Return the image, its windows shaved by up to SHAVE pixels per axis, and its JPEG re-encodes."""
    grey = _grey(image)
    w, h = grey.size
    out = [grey]
    for sx in range(SHAVE + 1):
        for sy in range(SHAVE + 1):
            if (sx or sy) and w - sx >= 2 and h - sy >= 2:
                out += [grey.crop((ox, oy, w - (sx - ox), h - (sy - oy)))
                        for ox in range(sx + 1) for oy in range(sy + 1)]
    for quality in QUALITIES:
        buffer = io.BytesIO()
        grey.save(buffer, format="JPEG", quality=quality)
        out.append(Image.open(io.BytesIO(buffer.getvalue())).convert("L"))
    return out


def _at(images: Sequence[Image.Image], size: tuple[int, int]) -> np.ndarray:
    """Return images resized to `size` (bilinear, as a resized copy was made) as rows (k, w * h) of float32."""
    return np.stack([np.asarray(im if im.size == size else im.resize(size, Image.Resampling.BILINEAR),
                                dtype=np.float32).ravel() for im in images])


@functools.lru_cache(maxsize=1024)
def _resizer(src: tuple[int, int], dst: tuple[int, int]) -> np.ndarray:
    """Return the (src pixels, dst pixels) matrix of a bilinear resize: rows @ it resize many images at once."""
    # Resizing is linear in the pixels: resize each basis image (float, so nothing is rounded) to get its column.
    count = src[0] * src[1]
    out = np.empty((count, dst[0] * dst[1]), np.float32)
    for k in range(count):
        basis = np.zeros(count, np.float32)
        basis[k] = 1.0
        out[k] = np.asarray(Image.fromarray(basis.reshape(src[1], src[0]), "F").resize(
            dst, Image.Resampling.BILINEAR), dtype=np.float32).ravel()
    return out


def tiny_distances(images: Sequence[Image.Image], max_rmse: float = MAX_RMSE,
                   among: set[int] | None = None) -> dict[tuple[int, int], float]:
    """Return {(i, j): RMSE in grey levels} for pairs (i < j) of tiny images at most `max_rmse` apart.

    The distance of a pair is the smallest, both ways, between one image's variants resized to the other's size
    and the other's pixels. Images are grouped by size so each (size, size) comparison is a few products.
    `among`: only pairs with at least one of these indices (a few new images against all: linear, not quadratic).
    """
    tiny = [i for i, im in enumerate(images) if is_tiny(im)]
    by_size: dict[tuple[int, int], list[int]] = {}
    for i in tiny:
        by_size.setdefault(images[i].size, []).append(i)
    # Per size: variant k of every image of that size, as rows (n, its pixels); all images of a size have the
    # same variants (same count, same sizes).
    stacks: dict[tuple[int, int], list[tuple[tuple[int, int], np.ndarray]]] = {}
    for size, group in by_size.items():
        each = [_variants(images[i]) for i in group]
        stacks[size] = [(each[0][k].size, np.stack([np.asarray(v[k], dtype=np.float32).ravel() for v in each]))
                        for k in range(len(each[0]))]
    every = {size: np.arange(len(group)) for size, group in by_size.items()}
    if among is None:
        passes = [(every, every)]
    else:  # a pair's two directions: the chosen image's variants against the other, and the other's against it
        chosen = {size: np.array([k for k, i in enumerate(group) if i in among], dtype=np.int64)
                  for size, group in by_size.items()}
        passes = [(chosen, every), (every, chosen)]
    found: dict[tuple[int, int], float] = {}
    for rows_of, targets_of in passes:
        for size_b, group_b in by_size.items():
            at_b = targets_of[size_b]
            if not len(at_b):
                continue
            targets = stacks[size_b][0][1][at_b]  # (nb, p): the images themselves
            target_sq = (targets ** 2).sum(axis=1)
            pixels = targets.shape[1]
            for size_a, group_a in by_size.items():
                at_a = rows_of[size_a]
                step = max(1, (1 << 21) // len(at_b))  # 8 MiB of distances a step
                for start in range(0, len(at_a), step):
                    best = None
                    for size_k, rows in stacks[size_a]:
                        mine = rows[at_a[start:start + step]]
                        if size_k != size_b:
                            mine = mine @ _resizer(size_k, size_b)  # (na, p)
                        # |a - b|^2 = |a|^2 + |b|^2 - 2 a.b; the best of each image's variants.
                        sq = (mine ** 2).sum(axis=1)[:, None] + target_sq[None, :] - 2 * (mine @ targets.T)
                        best = sq if best is None else np.minimum(best, sq)
                    best = np.sqrt(np.maximum(best, 0) / pixels)
                    rows_, cols = np.nonzero(best <= max_rmse)
                    for r, c in zip(rows_.tolist(), cols.tolist(), strict=True):
                        i, j = group_a[at_a[start + r]], group_b[at_b[c]]
                        if i != j:
                            key = (i, j) if i < j else (j, i)
                            found[key] = min(found.get(key, np.inf), float(best[r, c]))
    return found


class Variants:
    """One tiny image's variants, as pixel rows at each size asked for (each size resized once)."""

    def __init__(self, image: Image.Image):
        self.image = _grey(image)
        self.images = _variants(image)
        self._at: dict[tuple[int, int], np.ndarray] = {}

    def at(self, size: tuple[int, int]) -> np.ndarray:
        """Return the variants resized to `size`, (v, w * h) float32."""
        if size not in self._at:
            self._at[size] = _at(self.images, size)
        return self._at[size]

    def pixels(self) -> np.ndarray:
        """Return the image itself as one row (w * h,) float32 (it is the first variant)."""
        return self.at(self.image.size)[0]


def tiny_distance(a: Image.Image | Variants, b: Image.Image | Variants) -> float:
    """Return the RMSE in grey levels of two tiny images at their best variant, both ways."""
    va, vb = (x if isinstance(x, Variants) else Variants(x) for x in (a, b))
    return float(min(np.sqrt(((mine.at(other.image.size) - other.pixels()) ** 2).mean(axis=1)).min()
                     for mine, other in ((va, vb), (vb, va))))
