"""Group near-duplicate images by hash distance and find groups that cross splits."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from training.datacheck.phash import as_unsigned


def _bits(hashes: Sequence[int]) -> np.ndarray:
    """Unpack hashes into a (n, 64) uint8 bit matrix."""
    words = np.array([as_unsigned(h) for h in hashes], dtype=np.uint64)  # (n,)
    return np.unpackbits(words.view(np.uint8).reshape(-1, 8), axis=1)  # (n, 64)


def near_pairs(hashes: Sequence[int], threshold: int, chunk: int = 2048) -> list[tuple[int, int]]:
    """Return index pairs (i < j) whose hashes differ in at most `threshold` bits."""
    if threshold < 0:
        raise ValueError("threshold must be >= 0")
    if len(hashes) == 0:
        return []
    # float32 so the product runs in BLAS (~10x numpy's integer matmul); sums of at most 64 ones stay exact.
    bits = _bits(hashes).astype(np.float32)  # (n, 64)
    ones = bits.sum(axis=1)  # (n,)
    pairs: list[tuple[int, int]] = []
    # Hamming = |a| + |b| - 2 a.b, computed chunk by chunk to keep memory at chunk * n.
    for start in range(0, len(bits), chunk):
        block = bits[start:start + chunk]  # (c, 64)
        dist = ones[start:start + chunk, None] + ones[None, :] - 2 * (block @ bits.T)  # (c, n)
        rows, cols = np.nonzero(dist <= threshold + 0.5)
        rows = rows + start
        upper = rows < cols
        pairs.extend(zip(rows[upper].tolist(), cols[upper].tolist(), strict=True))
    return pairs


def group_pairs(count: int, pairs: Sequence[tuple[int, int]]) -> list[list[int]]:
    """Join pairs into groups (connected components) of two or more indices, largest first."""
    parent = list(range(count))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[rb] = ra
    members: dict[int, list[int]] = {}
    for i in range(count):
        members.setdefault(find(i), []).append(i)
    groups = [sorted(g) for g in members.values() if len(g) > 1]
    return sorted(groups, key=lambda g: (-len(g), g[0]))


def leaking_pairs(
    pairs: Sequence[tuple[int, int]], split_of: Mapping[int, str]
) -> list[tuple[int, int]]:
    """Return the near-duplicate pairs whose two images sit in different splits."""
    return [(a, b) for a, b in pairs if split_of.get(a) != split_of.get(b)]


def near_pairs_cropped(hashes: Sequence[int], crops: Sequence[Sequence[int]], threshold: int,
                       chunk: int | None = None) -> list[tuple[int, int]]:
    """Return index pairs (i < j) within `threshold` bits, comparing whole hashes and each one's crops.

    `crops[i]` holds image i's `phash.crop_hashes` (the same count for every image). A pair is near when
    min(d(h_i, h_j), min_k d(crop_i_k, h_j), min_k d(h_i, crop_j_k)) <= threshold: a resized or re-encoded copy
    matches whole to whole, a 5-10% cropped copy matches one of its original's crops. Memory: chunk * n * m.
    """
    if threshold < 0:
        raise ValueError("threshold must be >= 0")
    n = len(hashes)
    if len(crops) != n:
        raise ValueError(f"{n} hashes but {len(crops)} crop lists")
    m = len(crops[0]) if n else 0
    if any(len(c) != m for c in crops):
        raise ValueError("every image needs the same number of crop hashes")
    whole = _bits(hashes).astype(np.int16)  # (n, 64)
    parts = _bits([h for c in crops for h in c]).astype(np.int16) if m else np.zeros((0, 64), np.int16)  # (n*m, 64)
    whole_ones, part_ones = whole.sum(axis=1), parts.sum(axis=1)
    chunk = chunk or max(1, (1 << 22) // max(1, n * max(m, 1)))
    pairs: list[tuple[int, int]] = []
    for start in range(0, n, chunk):
        rows = whole[start:start + chunk]  # (c, 64)
        c = len(rows)
        best = whole_ones[start:start + chunk, None] + whole_ones[None, :] - 2 * (rows @ whole.T)  # (c, n)
        if m:
            # My whole hash against every crop of every image: (c, n*m) -> min over crops (c, n).
            mine_vs_crops = whole_ones[start:start + chunk, None] + part_ones[None, :] - 2 * (rows @ parts.T)
            best = np.minimum(best, mine_vs_crops.reshape(c, n, m).min(axis=2))
            # My crops against every whole hash: (c*m, n) -> min over my crops (c, n).
            my_parts = parts[start * m:(start + c) * m]  # (c*m, 64)
            crops_vs_whole = part_ones[start * m:(start + c) * m, None] + whole_ones[None, :] - 2 * (my_parts @ whole.T)
            best = np.minimum(best, crops_vs_whole.reshape(c, m, n).min(axis=1))
        r, col = np.nonzero(best <= threshold)
        pairs.extend((start + i, j) for i, j in zip(r.tolist(), col.tolist(), strict=True) if start + i < j)
    return pairs
