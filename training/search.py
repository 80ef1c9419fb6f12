"""Choose a model within a time budget: successive halving over architectures × learning rates (pure planning).

Rung 0 trains every candidate for a few epochs; each later rung keeps the better half on validation accuracy
and trains them `ETA` times as many epochs in total, until one is left or the next rung would not finish
within the budget. Time is estimated from what the runs measured (seconds per epoch, and the fixed cost of a
run: data cache, building, final evaluation), never guessed from a model size. Nothing here knows about
Django or about how a run is launched: the caller supplies results and gets decisions back.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

ETA = 2  # keep the best 1/ETA of a rung; the next trains ETA times as many epochs in total
LR_FACTORS = (1.0, 3.0)  # times the recipe's learning rate: short budgets often gain from a higher peak
RUNG0_STEPS = 40  # optimisation steps of rung 0: enough to rank candidates, few enough to measure quickly
SAFETY = 1.15  # a rung starts only if its estimate, padded by this, fits what is left of the budget
# Candidates per machine kind. The CPU gets the small and quick ones; a GPU can afford a transformer too.
CPU_ARCHS = ("custom", "resnet18_small")
GPU_SMALL_ARCHS = ("resnet18_small", "vgg11_bn_small", "vit_tiny")
GPU_LARGE_ARCHS = ("resnet18", "resnet34", "vgg11_bn")
LARGE_IMAGE_SIDE = 96  # px: images whose shorter median side is at least this get full-size networks on a GPU


@dataclass(frozen=True)
class Candidate:
    """One point of the search: an architecture with a learning rate."""

    arch: str
    lr: float


@dataclass(frozen=True)
class MemberResult:
    """What one finished (or still running) member run tells the planner."""

    key: int  # the caller's id of the member
    candidate: Candidate
    rung: int
    epochs: int  # epochs it trained (not those planned: it may stop early), those of the runs it continued included
    val_accuracy: float | None  # its best epoch's; None: failed, cancelled or not finished
    seconds_per_epoch: float | None = None
    overhead_s: float | None = None  # a run's time outside its epochs (cache, build, evaluation)
    finished: bool = True
    # Its best epoch's validation loss: it breaks ties on accuracy, which small validation sets make common
    # (several members at 100%); None counts as the worst.
    val_loss: float | None = None


def _rank(result: MemberResult) -> tuple[float, float]:
    """Return the sort key of a scored member, best first: accuracy, then lower validation loss."""
    loss = result.val_loss if result.val_loss is not None and math.isfinite(result.val_loss) else math.inf
    return (-result.val_accuracy, loss)


@dataclass(frozen=True)
class NextRung:
    """The members the next rung continues, and how many more epochs each trains."""

    rung: int
    parents: tuple[MemberResult, ...]
    extra_epochs: int
    estimate_s: float


def architectures(*, has_cuda: bool, median_size: tuple[int, int] | None) -> tuple[str, ...]:
    """Return the architectures worth trying on this machine for images of `median_size` (w, h)."""
    if not has_cuda:
        return CPU_ARCHS
    large = median_size is not None and min(median_size) >= LARGE_IMAGE_SIDE
    return GPU_LARGE_ARCHS if large else GPU_SMALL_ARCHS


def candidates(base_lrs: dict[str, float]) -> list[Candidate]:
    """Return every architecture (with its recipe's learning rate) × LR_FACTORS."""
    return [Candidate(arch, float(f"{lr * factor:.2g}")) for arch, lr in base_lrs.items() for factor in LR_FACTORS]


def rung0_epochs(steps_per_epoch: int, *, max_epochs: int) -> int:
    """Return rung 0's epochs: about RUNG0_STEPS steps, at least one epoch, at most `max_epochs`."""
    return max(1, min(max_epochs, math.ceil(RUNG0_STEPS / max(1, steps_per_epoch))))


def survivors(results: Sequence[MemberResult]) -> list[MemberResult]:
    """Return the best ceil(k / ETA) of a rung's k members that have a result, best first."""
    scored = sorted((r for r in results if r.val_accuracy is not None), key=_rank)
    return scored[:math.ceil(len(results) / ETA)] if scored else []


def estimate_s(parents: Sequence[MemberResult], extra_epochs: int) -> float | None:
    """Return the seconds a rung of `extra_epochs` per parent takes, one run after another; None if unmeasured."""
    total = 0.0
    for parent in parents:
        if parent.seconds_per_epoch is None:
            return None
        total += (parent.overhead_s or 0.0) + extra_epochs * parent.seconds_per_epoch
    return total


def next_rung(results: Sequence[MemberResult], *, remaining_s: float, max_epochs: int) -> NextRung | None:
    """Return the next rung after the finished rung `results`, or None when the search is over.

    Epochs are those the members trained, which differ when some stopped early: the survivors all train as
    many more epochs, until the longest trained has ETA times its epochs in total; when that would not finish
    in `remaining_s`, as many epochs as fit (at least one more per member), else none. Nobody trains past
    `max_epochs` in total (what a single run of the recipe would train).
    """
    best = survivors(results)
    if not best:
        return None
    rung, trained = best[0].rung, max(r.epochs for r in best)
    wanted = min(trained * ETA, max_epochs) - trained
    if wanted < 1:
        return None
    for extra in range(wanted, 0, -1):
        estimate = estimate_s(best, extra)
        if estimate is None:
            return None
        if estimate * SAFETY <= remaining_s:
            return NextRung(rung + 1, tuple(best), extra, estimate)
    return None


def winner(results: Sequence[MemberResult]) -> MemberResult | None:
    """Return the best member on validation accuracy; on a tie the lower validation loss, then the longer trained."""
    scored = [r for r in results if r.val_accuracy is not None]
    if not scored:
        return None
    return min(scored, key=lambda r: (*_rank(r), -r.epochs, r.key))
