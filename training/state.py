"""The loop's position and bookkeeping, and how it goes into and comes out of a checkpoint."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from training import distributed
from training.callbacks import EpochStats
from training.checkpoint import rng_state, set_rng_state

CHECKPOINT_FORMAT = 1


@dataclass
class RunState:
    """Where a run stands: `epoch` full epochs done plus `step` steps of the next, and what it has seen."""

    epoch: int = 0
    step: int = 0
    order: torch.Tensor | None = None  # (N,) int64: this epoch's image order, before sharding
    sums: torch.Tensor = field(default_factory=lambda: torch.zeros(3, dtype=torch.float64))
    seconds: float = 0.0  # training time spent in the current epoch
    history: list[dict] = field(default_factory=list)
    best_epoch: int | None = None
    best_key: list[float] | None = None
    bad_epochs: int = 0

    def consider(self, stats: EpochStats, monitor: str) -> bool:
        """Record `stats` as the best epoch if it beats the best so far; return True if it does."""
        if stats.val_accuracy is None:
            # Without a validation split nothing can pick an earlier epoch: the latest one is kept.
            self.best_epoch = stats.epoch
            return True
        # Ties on the monitored number are broken by the other one (small val sets tie often on accuracy).
        key = [stats.val_accuracy, -stats.val_loss] if monitor == "val_accuracy" \
            else [-stats.val_loss, stats.val_accuracy]
        if self.best_key is None or key > self.best_key:
            self.best_key, self.best_epoch, self.bad_epochs = key, stats.epoch, 0
            return True
        self.bad_epochs += 1
        return False


def capture(trainer) -> dict:
    """Return the checkpoint dict for `trainer` (a collective call: every rank must make it)."""
    s = trainer.state
    # Each rank draws its own augmentation and dropout, so every rank's random state is kept.
    ranks = distributed.all_gather({"rng": rng_state(trainer.generators), "sums": s.sums.cpu(),
                                    "seconds": s.seconds})
    return {
        "format": CHECKPOINT_FORMAT,
        "model": trainer.model.state_dict(),
        "optimizer": trainer.optimizer.state_dict(),
        "scheduler": trainer.scheduler.state_dict(),
        "scaler": None,  # bf16 needs no loss scaling; kept so the checkpoint layout names every part
        "epoch": s.epoch,
        "step": s.step,
        "order": s.order,
        "ranks": ranks,
        "history": s.history,
        "best_epoch": s.best_epoch,
        "best_key": s.best_key,
        "bad_epochs": s.bad_epochs,
        "config": trainer.config.to_dict(),
        "class_names": trainer.class_names,
        "matmul_convs": trainer.matmul_convs,  # resume computes these convolutions as the run did
    }


def restore(trainer, checkpoint: dict) -> None:
    """Put `trainer` back exactly where `checkpoint` was taken."""
    if checkpoint.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"unsupported checkpoint format {checkpoint.get('format')!r}")
    trainer.model.load_state_dict(checkpoint["model"])
    trainer.optimizer.load_state_dict(checkpoint["optimizer"])
    trainer.scheduler.load_state_dict(checkpoint["scheduler"])
    ranks = checkpoint["ranks"]
    mine = ranks[trainer.ctx.rank] if trainer.ctx.rank < len(ranks) else ranks[0]
    set_rng_state(mine["rng"], trainer.generators)
    trainer.matmul_convs = list(checkpoint.get("matmul_convs") or [])  # none before they existed
    trainer.state = RunState(
        epoch=checkpoint["epoch"], step=checkpoint["step"], order=checkpoint["order"], sums=mine["sums"],
        seconds=mine["seconds"], history=list(checkpoint["history"]), best_epoch=checkpoint["best_epoch"],
        best_key=checkpoint["best_key"], bad_epochs=checkpoint["bad_epochs"])
