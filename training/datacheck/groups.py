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
    bits = _bits(hashes).astype(np.int16)  # (n, 64)
    ones = bits.sum(axis=1)  # (n,)
    pairs: list[tuple[int, int]] = []
    # Hamming = |a| + |b| - 2 a.b, computed chunk by chunk to keep memory at chunk * n.
    for start in range(0, len(bits), chunk):
        block = bits[start:start + chunk]  # (c, 64)
        dist = ones[start:start + chunk, None] + ones[None, :] - 2 * (block @ bits.T)  # (c, n)
        rows, cols = np.nonzero(dist <= threshold)
        for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
            i = start + r
            if i < c:
                pairs.append((i, c))
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
