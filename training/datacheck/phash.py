"""Compute a 64-bit DCT perceptual hash (pHash) of an image and compare hashes."""

from __future__ import annotations

import numpy as np
from PIL import Image

HASH_SIZE = 8  # 8x8 low-frequency bits -> one 64-bit integer


def hamming(a: int, b: int) -> int:
    """Return how many bits differ between two hashes."""
    return (a ^ b).bit_count()


def as_signed(value: int) -> int:
    """Map an unsigned 64-bit hash into the signed range a database BIGINT holds."""
    return value - (1 << 64) if value >= (1 << 63) else value


def as_unsigned(value: int) -> int:
    """Map a stored signed 64-bit hash back to its unsigned bits."""
    return value + (1 << 64) if value < 0 else value


def _dct_matrix(size: int) -> np.ndarray:
    """Return the orthonormal DCT-II matrix of a given size, (size, size)."""
    k = np.arange(size)[:, None]
    n = np.arange(size)[None, :]
    matrix = np.cos(np.pi * (2 * n + 1) * k / (2 * size)) * np.sqrt(2 / size)
    matrix[0] /= np.sqrt(2)
    return matrix


_DCT32 = _dct_matrix(32)
_LOW = np.ascontiguousarray(_DCT32[:HASH_SIZE])  # (8, 32): only the low frequencies are kept


def phash(image: Image.Image) -> int:
    """Return the 64-bit DCT perceptual hash of an image."""
    # Low frequencies of a 32x32 grey thumbnail survive resizing, re-encoding and small crops.
    grey = np.asarray(image.convert("L").resize((32, 32), Image.Resampling.LANCZOS), dtype=np.float64)
    low = (_LOW @ grey @ _LOW.T).ravel()  # (64,): the top-left 8x8 of the 32x32 DCT
    bits = low > np.median(low[1:])  # skip the DC term, which only says how bright the image is
    return int.from_bytes(np.packbits(bits).tobytes(), "big")  # first bit highest


CROP_SCALE = 0.925  # a 5-10% cropped copy covers 90-95% of its original: hash crops of that size
CROP_STEPS = 3  # anchored left/centre/right x top/middle/bottom: 9 crops


def crop_hashes(image: Image.Image) -> list[int]:
    """Return the pHashes of 9 crops of 92.5% of the image (3 x 3 anchors), to catch slightly cropped copies.

    A crop shifts every DCT coefficient, so a 5-10% cropped copy can sit 14-26 bits from its original's hash;
    it sits within a few bits of one of the original's crops (`near_pairs_cropped`).
    """
    width, height = image.size
    w, h = max(1, round(width * CROP_SCALE)), max(1, round(height * CROP_SCALE))
    out = []
    for fy in np.linspace(0, 1, CROP_STEPS):
        for fx in np.linspace(0, 1, CROP_STEPS):
            left, top = round((width - w) * fx), round((height - h) * fy)
            out.append(phash(image.crop((left, top, left + w, top + h))))
    return out
