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
                       chunk: int | None = None, among: Sequence[int] | None = None) -> list[tuple[int, int]]:
    """Return index pairs (i < j) within `threshold` bits, comparing whole hashes and each one's crops.

    `crops[i]` holds image i's `phash.crop_hashes` (the same count for every image). A pair is near when
    min(d(h_i, h_j), min_k d(crop_i_k, h_j), min_k d(h_i, crop_j_k)) <= threshold: a resized or re-encoded copy
    matches whole to whole, a 5-10% cropped copy matches one of its original's crops. `among`: only pairs with
    at least one of these indices (images added since pairs were last searched).
    """
    return sorted(cropped_distances(hashes, crops, threshold, chunk=chunk, among=among))


# Up to this many images searched against all (new uploads against a dataset), XOR and popcount on 64-bit words
# beat building every image's bit matrix for the BLAS product: 1 image against 100,000 in about a tenth of the time.
FEW = 64


def _words(values) -> np.ndarray:
    """Return hashes (signed as stored, or unsigned; nested lists too) as unsigned 64-bit words."""
    try:
        return np.array(values, dtype=np.uint64)  # all unsigned already: no Python loop
    except OverflowError:  # some stored signed
        return np.vectorize(as_unsigned, otypes=[np.uint64])(np.array(values, dtype=object))


def _few_against_all(hashes: Sequence[int], crops: Sequence[Sequence[int]], threshold: int,
                     added: list[int]) -> dict[tuple[int, int], int]:
    """Return cropped_distances' pairs of each of `added` against every image, by XOR and popcount."""
    whole = _words(hashes)  # (n,)
    every = np.concatenate([whole[:, None], _words(crops).reshape(len(hashes), -1)], axis=1)  # (n, m + 1)
    found: dict[tuple[int, int], int] = {}
    for i in added:
        # Both directions, as the full search: i's whole hash against j's best, and j's whole against i's best.
        mine = np.bitwise_count(every ^ whole[i]).min(axis=1)  # (n,)
        theirs = np.bitwise_count(whole[:, None] ^ every[i][None, :]).min(axis=1)  # (n,)
        dist = np.minimum(mine, theirs)
        for j in np.nonzero(dist <= threshold)[0].tolist():
            if j != i:
                key = (i, j) if i < j else (j, i)
                found[key] = min(found.get(key, 64), int(dist[j]))
    return found


def cropped_distances(hashes: Sequence[int], crops: Sequence[Sequence[int]], threshold: int, *,
                      chunk: int | None = None, among: Sequence[int] | None = None) -> dict[tuple[int, int], int]:
    """Return {(i, j): crop-aware distance in bits} for the pairs `near_pairs_cropped` finds."""
    if threshold < 0:
        raise ValueError("threshold must be >= 0")
    n = len(hashes)
    if len(crops) != n:
        raise ValueError(f"{n} hashes but {len(crops)} crop lists")
    m = len(crops[0]) if n else 0
    if any(len(c) != m for c in crops):
        raise ValueError("every image needs the same number of crop hashes")
    if n == 0:
        return {}
    if among is not None and len(set(among)) <= FEW:
        return _few_against_all(hashes, crops, threshold, sorted(set(among)))
    whole = _bits(hashes).astype(np.float32)  # (n, 64)
    ones = whole.sum(axis=1)  # (n,)
    # Every image's hashes, whole first, as (m + 1, n, 65) rows [2 bits, -|bits|]: then [a, 1] . row =
    # 2 a.b - |b| and d(a, b) = |a| - that, so one float32 BLAS product (exact: integers <= 128) gives every
    # distance, and the best of an image's m + 1 hashes is a max over contiguous slices.
    theirs = np.concatenate([whole[None], _bits([h for c in crops for h in c]).astype(np.float32)
                             .reshape(n, m, 64).transpose(1, 0, 2)]) if m else whole[None]  # (m + 1, n, 64)
    theirs = np.concatenate([2 * theirs, -theirs.sum(axis=2, keepdims=True)], axis=2)  # (m + 1, n, 65)
    mine = np.concatenate([whole, np.ones((n, 1), np.float32)], axis=1)  # (n, 65)
    everyone = np.arange(n)
    found: dict[tuple[int, int], int] = {}

    def search(rows: np.ndarray, cols: np.ndarray) -> None:
        """Add d(whole_i, best hash of j) <= threshold for i in rows, j in cols (one direction)."""
        row_block = chunk or 512
        col_block = max(1, (1 << 21) // (row_block * (m + 1)))  # 8 MiB of scores a step
        for c0 in range(0, len(cols), col_block):
            cj = cols[c0:c0 + col_block]
            block = theirs[:, cj].reshape(-1, 65)  # ((m + 1) * b, 65)
            for r0 in range(0, len(rows), row_block):
                ri = rows[r0:r0 + row_block]
                best = (mine[ri] @ block.T).reshape(len(ri), m + 1, len(cj)).max(axis=1)  # (r, b)
                dist = ones[ri, None] - best
                r, c = np.nonzero(dist <= threshold + 0.5)
                for i, j, d in zip(ri[r].tolist(), cj[c].tolist(), dist[r, c].tolist(), strict=True):
                    if i != j:
                        key = (i, j) if i < j else (j, i)
                        found[key] = min(found.get(key, 64), round(d))

    if among is None:
        search(everyone, everyone)  # the full square: both directions of every pair
    else:
        added = np.unique(np.asarray(among, dtype=np.int64))
        search(added, everyone)
        search(everyone, added)
    return found
