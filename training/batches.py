"""Batches from the cached uint8 tensor: a seeded order per epoch, indexed, moved to the device."""

from __future__ import annotations

import torch

from training.cache import CachedSplit
from training.distributed import DistContext, shard

# Keep the whole training split on the GPU when it takes at most this share of the free memory.
_GPU_RESIDENT_SHARE = 0.25


def steps_per_epoch(n: int, batch_size: int) -> int:
    """Return full batches per epoch; the remainder is dropped (a fresh order each epoch covers it)."""
    # Dropping the ragged last batch keeps shapes fixed (torch.compile, cuDNN) and avoids 1-image batches,
    # which BatchNorm cannot train on. Smaller than one batch: the whole split is the batch.
    return max(1, n // batch_size)


def sample_weights(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Return a weight per image so each class is drawn equally often: 1 / its class's count."""
    counts = torch.bincount(labels, minlength=num_classes).clamp(min=1).double()
    return (1.0 / counts)[labels]  # (N,) float64


def class_weights(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Return loss weights N / (C * count) per class, so rare classes count as much as common ones."""
    counts = torch.bincount(labels, minlength=num_classes).clamp(min=1).float()
    return len(labels) / (num_classes * counts)  # (C,) float32


def epoch_order(n: int, *, generator: torch.Generator, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Return this epoch's image order: a permutation, or a class-balanced draw when `weights` is given."""
    if weights is None:
        return torch.randperm(n, generator=generator)  # (N,) int64
    return torch.multinomial(weights, n, replacement=True, generator=generator)  # (N,) int64


class BatchFeeder:
    """Serve (images, labels) batches on the training device from one cached split."""

    def __init__(self, split: CachedSplit, device: torch.device, ctx: DistContext):
        self.device, self.ctx = device, ctx
        self.images, self.labels = split.images, split.labels  # (N, 3, S, S) uint8, (N,) int64
        self.resident = device.type != "cuda"
        if device.type == "cuda" and _fits_on_gpu(self.images, device):
            # One upload, then every batch is a gather in GPU memory: no host work per step at all.
            self.images = self.images.to(device)
            self.labels = self.labels.to(device)
            self.resident = True
        self._pinned: list[torch.Tensor] = []
        self._copied: list[torch.cuda.Event | None] = [None, None]
        self._turn = 0

    def shard(self, order: torch.Tensor) -> torch.Tensor:
        """Return this rank's part of an epoch order, on the device that indexes the images."""
        return shard(order, self.ctx).to(self.images.device)

    def get(self, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (B, 3, S, S) uint8 images and (B,) int64 labels on the device for `index`."""
        if self.resident:
            return self.images[index], self.labels[index]
        # Gather on the host into pinned memory, then copy asynchronously; two buffers alternate so a
        # gather never overwrites a buffer whose copy to the GPU is still in flight.
        turn, self._turn = self._turn, 1 - self._turn
        if len(self._pinned) < 2 or self._pinned[turn].shape[0] < len(index):
            shape = (len(index), *self.images.shape[1:])
            self._pinned = [torch.empty(shape, dtype=torch.uint8).pin_memory() for _ in range(2)]
        if self._copied[turn] is not None:
            self._copied[turn].synchronize()
        buffer = self._pinned[turn][: len(index)]
        torch.index_select(self.images, 0, index, out=buffer)
        images = buffer.to(self.device, non_blocking=True)
        self._copied[turn] = torch.cuda.Event()
        self._copied[turn].record()
        return images, self.labels[index].to(self.device, non_blocking=True)


def _fits_on_gpu(images: torch.Tensor, device: torch.device) -> bool:
    """Return True if `images` would take a small share of the GPU's free memory."""
    free, _ = torch.cuda.mem_get_info(device)
    return images.numel() * images.element_size() <= _GPU_RESIDENT_SHARE * free
