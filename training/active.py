"""Which unlabelled images to label next: margin, entropy and confidence of a model's probabilities.

Pure PyTorch: the labelling app's pre-label job and `bench/active_learning.py` both use it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

ORDERS = ("margin", "entropy", "confidence", "random")


@dataclass(frozen=True)
class Uncertainty:
    """Per-image summaries of a batch of class probabilities."""

    confidence: torch.Tensor  # [N] top-1 probability
    margin: torch.Tensor  # [N] top-1 minus top-2 probability (0: a coin toss between two classes)
    entropy: torch.Tensor  # [N] in nats, 0 (sure) .. log(C) (uniform)


def uncertainty(probs: torch.Tensor) -> Uncertainty:
    """Summarise probabilities [N, C] (rows sum to 1) as confidence, margin and entropy."""
    if probs.ndim != 2 or probs.shape[1] < 1:
        raise ValueError(f"probabilities must be [N, C], got {tuple(probs.shape)}")
    probs = probs.float()
    top = probs.topk(min(2, probs.shape[1]), dim=1).values  # [N, 2]
    second = top[:, 1] if top.shape[1] > 1 else torch.zeros_like(top[:, 0])
    entropy = -(probs * probs.clamp_min(1e-12).log()).sum(dim=1)  # [N]
    return Uncertainty(confidence=top[:, 0], margin=top[:, 0] - second, entropy=entropy.clamp_min(0.0))


def order(probs: torch.Tensor, by: str = "margin", *, generator: torch.Generator | None = None) -> torch.Tensor:
    """Return the row indices [N] in the order to label them.

    margin: smallest margin first; entropy: highest entropy first; confidence: most confident first (fast
    confirmation); random: a shuffle. Ties keep the original order, so the answer is deterministic.
    """
    if by not in ORDERS:
        raise ValueError(f"order must be one of {', '.join(ORDERS)}, got {by!r}")
    if by == "random":
        return torch.randperm(probs.shape[0], generator=generator)
    u = uncertainty(probs)
    key = {"margin": u.margin, "entropy": -u.entropy, "confidence": -u.confidence}[by]
    return torch.sort(key, stable=True).indices


def select(probs: torch.Tensor, budget: int, by: str = "margin", *,
           generator: torch.Generator | None = None) -> torch.Tensor:
    """Return the indices of the `budget` rows to label next, in `by` order."""
    if budget < 0:
        raise ValueError("budget must be >= 0")
    return order(probs, by, generator=generator)[:budget]
