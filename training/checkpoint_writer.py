"""Write checkpoints on a background thread, one at a time, from snapshots the training thread takes."""

from __future__ import annotations

import copy
import threading
from pathlib import Path

import torch

from training.checkpoint import CheckpointManager


class CheckpointWriteError(RuntimeError):
    """Writing a checkpoint failed; the message names the file and the cause."""


def snapshot(state, buffers: dict | None = None):
    """Return (a copy of `state` whose tensors live on the CPU apart from the live ones, CUDA events to wait for).

    `buffers` (from the previous snapshot, whose write has finished) are reused where a tensor's layout
    matches: copying into memory already touched costs a memcpy, a fresh allocation page faults (and pinned
    memory is slow to allocate), which on a big model is most of the cost.

    Called on the training thread, before the next optimizer step: `model.state_dict()` and
    `optimizer.state_dict()` hand out the live parameter and moment tensors, which the next step updates in
    place, and the run's history list grows after each epoch. A writer that pickled them while training went on
    would store a mix of two steps, a checkpoint no resume could reproduce.
    """
    devices: set[torch.device] = set()
    copied = _copy(state, (), devices, {} if buffers is None else buffers)
    return copied, _copies_done(devices)


def _copy(value, where: tuple, devices: set[torch.device], buffers: dict):
    """Copy `value` recursively: tensors into CPU buffers kept by `where` they sit, containers into new ones."""
    if isinstance(value, torch.Tensor):
        value = value.detach()
        on_gpu = value.device.type == "cuda"
        out = buffers.get(where)
        if out is None or (out.shape, out.dtype, out.stride()) != (value.shape, value.dtype, value.stride()):
            out = buffers[where] = torch.empty_like(value, device="cpu", pin_memory=on_gpu)
        if on_gpu:
            # Pinned memory lets the copy run asynchronously; it is queued on the tensor's stream before the
            # next optimizer step, so it reads this step's values. The writer waits for it (_copies_done).
            out.copy_(value, non_blocking=True)
            devices.add(value.device)
        else:
            out.copy_(value)
        return out
    if isinstance(value, dict):
        out = copy.copy(value)  # the same type and attributes (a state_dict's _metadata says its layout version)
        for key, item in value.items():
            out[key] = _copy(item, (*where, key), devices, buffers)
        return out
    if isinstance(value, list | tuple):
        items = [_copy(item, (*where, i), devices, buffers) for i, item in enumerate(value)]
        if isinstance(value, list):
            return items
        return type(value)(*items) if hasattr(value, "_fields") else type(value)(items)
    return copy.deepcopy(value)


def _copies_done(devices: set[torch.device]) -> list:
    """Return one CUDA event per device, recorded after the copies queued on it."""
    events = []
    for device in devices:
        with torch.cuda.device(device):
            event = torch.cuda.Event()
            event.record()
            events.append(event)
    return events


class CheckpointWriter:
    """Write one checkpoint at a time on a background thread; a failure surfaces on the next wait()."""

    def __init__(self, manager: CheckpointManager):
        self.manager = manager
        self._thread: threading.Thread | None = None
        self._error: CheckpointWriteError | None = None
        self._buffers: dict = {}  # the last snapshot's CPU tensors, refilled by the next once its write is done

    def submit(self, state: dict, *, epoch: int, step: int = 0, best: bool = False) -> Path:
        """Wait for the write in flight, snapshot `state` here, then write it in the background; return its path.

        Call it on the training thread, between optimizer steps: the snapshot must be taken before the next step.
        """
        self.wait()  # at most one write in flight: memory for one snapshot, and files land in order
        copied, events = snapshot(state, self._buffers)
        path = self.manager.folder / self.manager.name(epoch, step)
        self._thread = threading.Thread(target=self._write, args=(copied, events, epoch, step, best),
                                        name=f"checkpoint-{path.name}")
        self._thread.start()
        return path

    def wait(self) -> None:
        """Block until the write in flight is on disk; raise CheckpointWriteError if it failed."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    @property
    def busy(self) -> bool:
        """Return whether a write is in flight."""
        return self._thread is not None and self._thread.is_alive()

    def _write(self, state: dict, events: list, epoch: int, step: int, best: bool) -> None:
        """Write on the background thread, keeping any error for the training thread to raise."""
        name = self.manager.name(epoch, step)
        try:
            for event in events:
                event.synchronize()
            self.manager.save(state, epoch=epoch, step=step, best=best)
        except BaseException as exc:  # noqa: BLE001 - every failure must reach the run, none may kill it silently
            error = CheckpointWriteError(f"could not write checkpoint {name}: {type(exc).__name__}: {exc}")
            error.__cause__ = exc
            self._error = error

