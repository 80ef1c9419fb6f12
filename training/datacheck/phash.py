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


def phash(image: Image.Image) -> int:
    """Return the 64-bit DCT perceptual hash of an image."""
    # Low frequencies of a 32x32 grey thumbnail survive resizing, re-encoding and small crops.
    grey = np.asarray(image.convert("L").resize((32, 32), Image.Resampling.LANCZOS), dtype=np.float64)
    freq = _DCT32 @ grey @ _DCT32.T  # (32, 32)
    low = freq[:HASH_SIZE, :HASH_SIZE].flatten()  # (64,)
    bits = low > np.median(low[1:])  # skip the DC term, which only says how bright the image is
    value = 0
    for bit in bits:
        value = (value << 1) | int(bit)
    return value
