"""Where images come from: labelled records, image-folder scanning and seeded stratified splits."""

from __future__ import annotations

import hashlib
import os
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SPLITS = ("train", "val", "test")
IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm"})

Source = str | os.PathLike | Callable[[], typing.BinaryIO]


@dataclass
class ImageRecord:
    """One labelled image: a path or a callable that opens it, its class index and its split."""

    source: Source
    label: int
    split: str  # "train" | "val" | "test"


@dataclass
class DataSource:
    """A labelled dataset; `key` identifies its content, so a cache built for it can be reused."""

    records: list[ImageRecord]
    class_names: list[str]
    key: str

    def counts(self) -> dict[str, int]:
        """Return the number of records in each split."""
        return {split: sum(r.split == split for r in self.records) for split in SPLITS}


def stratified_split(labels: Sequence[int], *, ratios: Sequence[float] = (0.8, 0.1, 0.1),
                     seed: int = 0) -> list[str]:
    """Return a split name per label so each class is divided by `ratios` (train, val, test), seeded."""
    if len(ratios) != 3 or any(r < 0 for r in ratios) or not np.isclose(sum(ratios), 1.0):
        raise ValueError(f"ratios must be three non-negative shares of train, val, test summing to 1, got {ratios}")
    labels = np.asarray(labels, dtype=np.int64)
    out = np.empty(len(labels), dtype=object)
    rng = np.random.default_rng(seed)
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        members = members[rng.permutation(len(members))]
        n_val, n_test = _share(len(members), ratios[1]), _share(len(members), ratios[2])
        while n_val + n_test >= len(members) and n_val + n_test > 0 and ratios[0] > 0:
            # Never leave a class without training images: take back from the larger held-out share.
            if n_test >= n_val:
                n_test -= 1
            else:
                n_val -= 1
        out[members[:n_val]] = "val"
        out[members[n_val:n_val + n_test]] = "test"
        out[members[n_val + n_test:]] = "train"
    return out.tolist()


def _share(n: int, ratio: float) -> int:
    """Return round(n * ratio), but at least one image when the ratio is positive and the class has 3+."""
    if ratio <= 0:
        return 0
    return max(round(n * ratio), 1 if n >= 3 else 0)


def scan_image_folder(root: str | os.PathLike, *, seed: int = 0,
                      ratios: Sequence[float] = (0.8, 0.1, 0.1)) -> DataSource:
    """Read `root/class/x.png` (split by `ratios`, seeded) or `root/train|val|test/class/x.png`."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"no such folder: {root}")
    split_dirs = {s: root / s for s in SPLITS if (root / s).is_dir()}
    if "train" in split_dirs:
        files = {split: _class_files(folder) for split, folder in split_dirs.items()}
        class_names = sorted({name for per_class in files.values() for name in per_class})
        index = {name: i for i, name in enumerate(class_names)}
        records = [ImageRecord(path, index[name], split)
                   for split, per_class in files.items() for name, paths in per_class.items() for path in paths]
        if "val" not in split_dirs:
            # No val folder: hold out part of train (stratified) so the best epoch can still be chosen.
            train = [r for r in records if r.split == "train"]
            share = ratios[1] / (ratios[0] + ratios[1]) if ratios[0] + ratios[1] > 0 else 0.0
            for record, split in zip(train, stratified_split([r.label for r in train],
                                                             ratios=(1 - share, share, 0.0), seed=seed),
                                     strict=True):
                record.split = split
    else:
        per_class = _class_files(root)
        class_names = sorted(per_class)
        records = [ImageRecord(path, i, "") for i, name in enumerate(class_names) for path in per_class[name]]
        for record, split in zip(records, stratified_split([r.label for r in records], ratios=ratios, seed=seed),
                                 strict=True):
            record.split = split
    if not records:
        raise ValueError(f"no images found under {root} (expected {root}/<class>/<image>.png or "
                         f"{root}/train/<class>/<image>.png; extensions: {', '.join(sorted(IMAGE_EXTENSIONS))})")
    return DataSource(records=records, class_names=class_names, key=_folder_key(root, records, class_names))


def _class_files(folder: Path) -> dict[str, list[Path]]:
    """Return {class name: sorted image paths} for the class folders directly under `folder`."""
    out = {}
    for class_dir in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        paths = sorted(p for p in class_dir.rglob("*")
                       if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file() and not p.name.startswith("."))
        if paths:
            out[class_dir.name] = paths
    return out


def _folder_key(root: Path, records: list[ImageRecord], class_names: list[str]) -> str:
    """Return a content key from each file's relative path, size, mtime, label and split."""
    digest = hashlib.sha256("\0".join(class_names).encode())
    for record in records:
        stat = os.stat(record.source)
        rel = os.path.relpath(record.source, root)
        digest.update(f"\n{rel}\0{stat.st_size}\0{stat.st_mtime_ns}\0{record.label}\0{record.split}".encode())
    return "folder-" + digest.hexdigest()
