"""What the engine tells its caller while it runs, and how the caller asks it to stop."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class Progress:
    """A snapshot of a run, sent a few times a second; epoch and step count from 1."""

    phase: str  # "cache" | "train" | "val" | "done"
    epoch: int = 0
    epochs: int = 0
    step: int = 0
    steps: int = 0
    loss: float | None = None  # mean training loss of the epoch so far
    accuracy: float | None = None  # training accuracy of the epoch so far
    lr: float | None = None
    images_per_s: float | None = None
    eta_s: float | None = None  # seconds until the whole run ends, estimated
    done: int = 0  # cache phase: images decoded so far, of `total`
    total: int = 0

    def to_dict(self) -> dict:
        """Return the snapshot as JSON-ready values."""
        return asdict(self)


@dataclass
class EpochStats:
    """The numbers of one finished epoch; val fields are None when there is no validation split."""

    epoch: int
    train_loss: float
    train_accuracy: float
    val_loss: float | None
    val_accuracy: float | None
    lr: float
    images_per_s: float
    seconds: float

    def to_dict(self) -> dict:
        """Return the stats as JSON-ready values."""
        return asdict(self)


class Callback:
    """Receive progress and epoch results; return True from should_stop to end the run cleanly."""

    def on_progress(self, p: Progress) -> None:
        """Receive a progress snapshot (at most a few per second)."""

    def on_epoch_end(self, s: EpochStats) -> None:
        """Receive the results of a finished epoch (its checkpoint is being written; fit() waits for it)."""

    def should_stop(self) -> bool:
        """Return True to stop after the current step; called every step, so keep it cheap."""
        return False


def finite_or_none(value: Any) -> Any:
    """Return `value` with every NaN or infinite float, however deeply nested, replaced by None."""
    # JSON has no NaN: a database JSON column rejects the whole row, so one bad number loses them all.
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite_or_none(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(finite_or_none(v) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.replace(value, **{f.name: finite_or_none(getattr(value, f.name))
                                             for f in dataclasses.fields(value)})
    return value


class CallbackList(Callback):
    """Fan one call out to several callbacks, with every number in it finite or None."""

    def __init__(self, callbacks: Iterable[Callback]):
        self.callbacks = list(callbacks)

    def on_progress(self, p: Progress) -> None:
        p = finite_or_none(p)
        for callback in self.callbacks:
            callback.on_progress(p)

    def on_epoch_end(self, s: EpochStats) -> None:
        s = finite_or_none(s)
        for callback in self.callbacks:
            callback.on_epoch_end(s)

    def should_stop(self) -> bool:
        # Ask every callback, so each one sees the call even after another has said stop.
        return any([callback.should_stop() for callback in self.callbacks])
