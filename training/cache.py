"""Decode every image once into a uint8 memory-mapped file that later epochs and runs reuse."""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from training.data import SPLITS, DataSource, ImageRecord

# Bump when the bytes a cache holds for the same images would change (decoding, layout, resizing).
CACHE_FORMAT_VERSION = 1
_CHUNK = 32  # records per worker task: big enough to amortise scheduling, small enough to balance


@dataclass
class CachedSplit:
    """One split of a cache: images straight from the memory map, their labels and source records."""

    images: torch.Tensor  # (N, 3, S, S) uint8, backed by the memory-mapped file
    labels: torch.Tensor  # (N,) int64
    record_indices: list[int]

    def __len__(self) -> int:
        return len(self.labels)


@dataclass
class CachedData:
    """A decoded dataset on disk; `decoded` is how many images this build decoded (0 when reused)."""

    path: Path
    cache_size: int
    class_names: list[str]
    key: str
    images: torch.Tensor  # (N, 3, S, S) uint8, every decodable image, ordered train, val, test
    labels: torch.Tensor  # (N,) int64
    splits: list[str]
    record_indices: list[int]
    errors: list[tuple[int, str]] = field(default_factory=list)
    decoded: int = 0

    def split(self, name: str) -> CachedSplit:
        """Return the images of split `name` (a view of the memory map: nothing is copied)."""
        if name not in SPLITS:
            raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {name!r}")
        rows = [i for i, s in enumerate(self.splits) if s == name]
        # Rows of a split are contiguous in the file, so a slice serves them without a copy.
        start, stop = (rows[0], rows[-1] + 1) if rows else (0, 0)
        return CachedSplit(self.images[start:stop], self.labels[start:stop], self.record_indices[start:stop])


def cache_name(key: str, cache_size: int) -> str:
    """Return the file stem for a cache of `key` at `cache_size` px under the current preprocessing."""
    from classifier import presets

    version = f"{CACHE_FORMAT_VERSION}.{getattr(presets, 'DECODE_VERSION', 0)}"
    return hashlib.sha256(f"{key}\0{cache_size}\0{version}".encode()).hexdigest()[:32]


def build_cache(source: DataSource, *, cache_size: int, cache_dir: str | os.PathLike, workers: int = 2,
                progress: Callable[[int, int], None] | None = None) -> CachedData:
    """Return the cache for `source` at `cache_size` px, decoding the images only if no finished cache exists."""
    if not isinstance(cache_size, int) or cache_size < 1:
        raise ValueError(f"cache_size must be a positive whole number, got {cache_size!r}")
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    stem = cache_dir / cache_name(source.key, cache_size)
    cached = _open(stem, source, cache_size)
    if cached is not None:
        return cached
    _write(stem, source, cache_size, workers=max(1, workers), progress=progress)
    cached = _open(stem, source, cache_size)
    cached.decoded = len(source.records)
    return cached


def open_cache(path: str | os.PathLike) -> CachedData:
    """Open the finished cache whose data file is `path` (CachedData.path), as a process that did not build it."""
    stem = Path(path).with_suffix("")
    meta = json.loads(stem.with_suffix(".json").read_text())
    # Only the key and the record count identify a cache: records that are never decoded stand in for them.
    stand_in = DataSource(records=[None] * meta["records"], class_names=meta["class_names"], key=meta["key"])
    cached = _open(stem, stand_in, meta["cache_size"])
    if cached is None:
        raise ValueError(f"{path}: not a finished cache")
    return cached


def _order(records: list[ImageRecord]) -> list[int]:
    """Return record indices grouped by split (train, val, test) so each split is one contiguous slice."""
    rank = {s: i for i, s in enumerate(SPLITS)}
    bad = [i for i, r in enumerate(records) if r.split not in rank]
    if bad:
        raise ValueError(f"record {bad[0]} has split {records[bad[0]].split!r}; use one of {', '.join(SPLITS)}")
    return sorted(range(len(records)), key=lambda i: (rank[records[i].split], i))


def _decode(record: ImageRecord, cache_size: int) -> np.ndarray:
    """Return one image as (3, S, S) uint8."""
    from classifier.presets import decode_for_cache

    stream = record.source() if callable(record.source) else open(record.source, "rb")
    with stream, Image.open(stream) as image:
        array = decode_for_cache(image, cache_size)  # (S, S, 3) uint8
    return np.ascontiguousarray(array.transpose(2, 0, 1))


def _decode_chunk(records: list[ImageRecord], cache_size: int) -> list[np.ndarray | str]:
    """Decode a chunk, returning an array or an error message per record."""
    out: list[np.ndarray | str] = []
    for record in records:
        try:
            out.append(_decode(record, cache_size))
        except Exception as exc:  # a bad file is reported and left out, never fatal
            name = repr(record.source) if callable(record.source) else os.fspath(record.source)
            out.append(f"{name}: {type(exc).__name__}: {exc}")
    return out


def _ordered_map(fn, chunks: list, workers: int) -> Iterator:
    """Yield fn(chunk) in order, with a bounded number of chunks in flight."""
    if workers == 1:
        yield from map(fn, chunks)
        return
    # Threads suffice: Pillow releases the GIL while decoding and resizing, and threads can run the
    # callables a DataSource may hold (which processes could not pickle).
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending = []
        for chunk in chunks:
            pending.append(pool.submit(fn, chunk))
            if len(pending) >= 4 * workers:
                yield pending.pop(0).result()
        for future in pending:
            yield future.result()


def _write(stem: Path, source: DataSource, cache_size: int, *, workers: int,
           progress: Callable[[int, int], None] | None) -> None:
    """Decode every record into a temporary file and rename it into place once complete."""
    order = _order(source.records)
    total = len(order)
    tmp = stem.with_name(f"{stem.name}.{os.getpid()}.{threading.get_ident()}.{uuid.uuid4().hex[:8]}.tmp")
    data_tmp, meta_tmp = tmp.with_suffix(".u8.tmp"), tmp.with_suffix(".json.tmp")
    row_bytes = 3 * cache_size * cache_size
    kept, errors, done, last_report = [], [], 0, 0.0
    try:
        with open(data_tmp, "wb") as out:
            chunks = [order[i:i + _CHUNK] for i in range(0, total, _CHUNK)]
            results = _ordered_map(lambda c: _decode_chunk([source.records[i] for i in c], cache_size),
                                   chunks, workers)
            for chunk, decoded in zip(chunks, results, strict=True):
                for index, item in zip(chunk, decoded, strict=True):
                    if isinstance(item, str):
                        errors.append((index, item))
                    else:
                        out.write(item.tobytes())  # rows written in order, so the file is the (N,3,S,S) array
                        kept.append(index)
                done += len(chunk)
                if progress is not None and (time.monotonic() - last_report > 0.25 or done == total):
                    last_report = time.monotonic()
                    progress(done, total)
        assert os.path.getsize(data_tmp) == len(kept) * row_bytes
        meta = {
            "version": CACHE_FORMAT_VERSION, "key": source.key, "cache_size": cache_size,
            "class_names": source.class_names, "count": len(kept), "records": len(source.records),
            "record_indices": kept, "labels": [source.records[i].label for i in kept],
            "splits": [source.records[i].split for i in kept], "errors": errors,
        }
        meta_tmp.write_text(json.dumps(meta))
        # The data goes into place first and the metadata last: a cache without its .json is never read.
        os.replace(data_tmp, stem.with_suffix(".u8"))
        os.replace(meta_tmp, stem.with_suffix(".json"))
    finally:
        for path in (data_tmp, meta_tmp):
            path.unlink(missing_ok=True)


def _open(stem: Path, source: DataSource, cache_size: int) -> CachedData | None:
    """Return the finished cache at `stem`, or None if it is missing, partial or for other records."""
    meta_path, data_path = stem.with_suffix(".json"), stem.with_suffix(".u8")
    try:
        meta = json.loads(meta_path.read_text())
        size = data_path.stat().st_size
    except (OSError, ValueError):
        return None
    row_bytes = 3 * cache_size * cache_size
    if (meta.get("version") != CACHE_FORMAT_VERSION or meta.get("key") != source.key
            or meta.get("records") != len(source.records) or size != meta["count"] * row_bytes):
        return None
    count = meta["count"]
    if count:
        # Copy-on-write mapping: torch gets a writable tensor, yet nothing ever changes the file.
        array = np.memmap(data_path, dtype=np.uint8, mode="c", shape=(count, 3, cache_size, cache_size))
        images = torch.from_numpy(array)
    else:
        images = torch.empty((0, 3, cache_size, cache_size), dtype=torch.uint8)
    return CachedData(
        path=data_path, cache_size=cache_size, class_names=list(meta["class_names"]), key=meta["key"],
        images=images, labels=torch.tensor(meta["labels"], dtype=torch.int64), splits=list(meta["splits"]),
        record_indices=list(meta["record_indices"]), errors=[(int(i), str(m)) for i, m in meta["errors"]],
    )
