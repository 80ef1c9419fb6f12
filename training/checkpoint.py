"""Checkpoints: one dict per file, written atomically and durably; the best and the last few are kept."""

from __future__ import annotations

import os
import random
import re
import shutil
import uuid
from pathlib import Path

import numpy as np
import torch

_NAME = re.compile(r"^epoch_(\d{4,})(?:_step_(\d{6,}))?\.pt$")
_TEMP = re.compile(r"^\..+\.[0-9a-f]{8}\.tmp$")  # what save_checkpoint writes before renaming; never resumed from
BEST = "best.pt"


def save_checkpoint(path: str | os.PathLike, state: dict) -> None:
    """Write `state` to `path` through a temporary file, so a crash never leaves a half-written checkpoint."""
    path = Path(path)
    tmp = _temp_name(path)
    try:
        with open(tmp, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())  # the bytes are on disk before the name points at them
        os.replace(tmp, path)
        _fsync_dir(path.parent)  # and the rename itself survives a power cut
    finally:
        tmp.unlink(missing_ok=True)


def load_checkpoint(path: str | os.PathLike, *, map_location="cpu") -> dict:
    """Read a checkpoint written by save_checkpoint (tensors and plain Python values only)."""
    return torch.load(path, map_location=map_location, weights_only=True)


class CheckpointManager:
    """Name, write, find and prune the checkpoints of one run in one folder."""

    def __init__(self, folder: str | os.PathLike, *, keep_last: int):
        self.folder = Path(folder)
        self.keep_last = keep_last

    @staticmethod
    def name(epoch: int, step: int = 0) -> str:
        """Return the file name for the point after `epoch` full epochs and `step` steps of the next."""
        return f"epoch_{epoch:04d}.pt" if step == 0 else f"epoch_{epoch:04d}_step_{step:06d}.pt"

    def save(self, state: dict, *, epoch: int, step: int = 0, best: bool = False) -> Path:
        """Write the checkpoint, mark it best if asked, prune old ones, and return its path."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / self.name(epoch, step)
        save_checkpoint(path, state)
        if best:
            _link_or_copy(path, self.folder / BEST)
        self.prune()
        return path

    def positions(self) -> list[tuple[tuple[int, int], Path]]:
        """Return ((epoch, step), path) for every checkpoint in the folder, oldest first."""
        if not self.folder.is_dir():
            return []
        found = []
        for path in self.folder.iterdir():
            match = _NAME.match(path.name)
            if match:
                found.append(((int(match[1]), int(match[2] or 0)), path))
        return sorted(found)

    def latest(self) -> Path | None:
        """Return the most advanced checkpoint, or None."""
        found = self.positions()
        return found[-1][1] if found else None

    @property
    def best(self) -> Path | None:
        """Return the best checkpoint, or None."""
        path = self.folder / BEST
        return path if path.exists() else None

    def prune(self) -> None:
        """Delete all but the newest `keep_last` checkpoints (best.pt stays) and temporary files a crash left."""
        for _, path in self.positions()[:-self.keep_last]:
            path.unlink(missing_ok=True)
        # One writer per run folder and one write at a time: a temporary file seen now is a dead write's.
        for path in self.folder.iterdir():
            if _TEMP.match(path.name):
                path.unlink(missing_ok=True)


def _link_or_copy(src: Path, dst: Path) -> None:
    """Make `dst` hold the same bytes as `src`: a hard link where the filesystem allows, else a copy."""
    tmp = _temp_name(dst)
    try:
        try:
            os.link(src, tmp)
        except OSError:
            shutil.copyfile(src, tmp)
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
        os.replace(tmp, dst)
        _fsync_dir(dst.parent)
    finally:
        tmp.unlink(missing_ok=True)


def _temp_name(path: Path) -> Path:
    """Return a fresh temporary name beside `path`, one that no checkpoint listing matches."""
    return path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")


def _fsync_dir(folder: Path) -> None:
    """Flush `folder`'s entries to disk (where the platform can open a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # Windows cannot open a folder; its renames are durable enough for resume
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def rng_state(generators: dict[str, torch.Generator]) -> dict:
    """Return every random state a run draws from: torch (CPU and CUDA), NumPy, Python and `generators`."""
    _, keys, pos, has_gauss, cached = np.random.get_state()
    version, internal, gauss = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        # Stored as tensors and ints so the checkpoint loads with weights_only=True.
        "numpy": [torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss), float(cached)],
        "python": [version, list(internal), gauss],
        "generators": {name: g.get_state() for name, g in generators.items()},
    }


def set_rng_state(state: dict, generators: dict[str, torch.Generator]) -> None:
    """Restore what rng_state() returned."""
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state(("MT19937", keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    for name, generator in generators.items():
        generator.set_state(state["generators"][name])
