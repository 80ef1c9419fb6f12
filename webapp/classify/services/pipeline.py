"""Classify a stream of images: threads decode ahead while the model runs batches under inference_mode.

No Django here: the batch job and bench/batch_classify.py run this same code. Pillow releases the GIL
while it decodes and resizes, and torch while it computes, so on two cores the decoding of the next
batch overlaps the model's work on this one. Results come back batch by batch in input order; an image
that cannot be decoded becomes an Outcome with an error and never stops the stream.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from webapp.classify.services.decode import DecodedImage, as_batch, error_text

# Families whose convolutions run faster with channels_last inputs, on CPUs (oneDNN) and GPUs alike.
CHANNELS_LAST_FAMILIES = frozenset({"resnet", "vgg", "custom"})
_END = object()


@dataclass
class Outcome:
    """One image's answer: top-k probabilities and class indices, or the reason it has none."""

    item: object
    probabilities: list[float] | None = None  # best first
    indices: list[int] | None = None
    logits: Tensor | None = None  # (C,) float32 CPU, when asked for
    thumbnail: bytes | None = None
    error: str | None = None


def default_workers() -> int:
    """Return how many decoding threads to use: one per core, at least two so decoding never waits on itself."""
    return max(2, min(8, os.cpu_count() or 2))


def use_channels_last(model: nn.Module, family: str | None) -> bool:
    """Put a convolutional model in channels_last and return True; leave others as they are."""
    if family not in CHANNELS_LAST_FAMILIES:
        return False
    model.to(memory_format=torch.channels_last)
    return True


@contextmanager
def torch_threads(count: int | None):
    """Run the block with `count` intra-op threads (None or 0: as they are), then restore the count."""
    before = torch.get_num_threads()
    if count and count != before:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


def prepare(preset, pixels: list, *, device, channels_last: bool = False) -> Tensor:
    """Return the (B, 3, S, S) normalised float32 batch the model takes, from (R, R, 3) uint8 arrays."""
    images = as_batch(pixels).to(device, non_blocking=True)  # (B, 3, R, R) uint8
    x = preset.batch(images)  # (B, 3, S, S) float32
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


@torch.inference_mode()
def answer(model: nn.Module, x: Tensor, *, k: int, keep_logits: bool = False) -> tuple[Tensor, Tensor, Tensor | None]:
    """Return ((B, k) probabilities, (B, k) class indices, (B, C) logits or None), best first, on the CPU."""
    logits = model(x).float()  # (B, C)
    top = logits.softmax(dim=1).topk(min(k, logits.shape[1]), dim=1)
    return top.values.cpu(), top.indices.cpu(), logits.cpu() if keep_logits else None


def run_batch(model: nn.Module, preset, pixels: list, *, k: int, device, channels_last: bool = False,
              keep_logits: bool = False) -> tuple[Tensor, Tensor, Tensor | None]:
    """Return answer() for a list of (R, R, 3) uint8 arrays."""
    x = prepare(preset, pixels, device=device, channels_last=channels_last)
    return answer(model, x, k=k, keep_logits=keep_logits)


def classify_stream(
    model: nn.Module,
    preset,
    items: Iterable,
    decode: Callable[[object], DecodedImage],
    *,
    k: int = 5,
    batch_size: int = 32,
    workers: int | None = None,
    device=None,
    channels_last: bool = False,
    keep_logits: bool = False,
) -> Iterator[list[Outcome]]:
    """Yield lists of Outcomes, in input order, one list per model batch (errors ride along in order)."""
    device = device or next(model.parameters()).device
    model.eval()
    workers = workers or default_workers()
    source = iter(items)
    window = 2 * batch_size + workers  # decoded images waiting: about two batches ahead
    pending: deque = deque()
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lux-decode")

    def fill() -> None:
        while len(pending) < window:
            item = next(source, _END)
            if item is _END:
                return
            pending.append((item, pool.submit(decode, item)))

    try:
        fill()
        outcomes: list[Outcome] = []
        ready: list[tuple[Outcome, DecodedImage]] = []
        while pending:
            item, future = pending.popleft()
            fill()
            outcome = Outcome(item=item)
            outcomes.append(outcome)
            try:
                decoded = future.result()
            except Exception as error:  # hostile or damaged input: one image's problem, never the job's
                outcome.error = error_text(error)
            else:
                outcome.thumbnail = decoded.thumbnail
                ready.append((outcome, decoded))
            if len(ready) == batch_size or len(outcomes) >= 4 * batch_size or (not pending and outcomes):
                _answer(model, preset, ready, k=k, device=device, channels_last=channels_last,
                        keep_logits=keep_logits)
                yield outcomes
                outcomes, ready = [], []
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _answer(model, preset, ready, *, k, device, channels_last, keep_logits) -> None:
    """Fill in the answers of the decoded images of one batch."""
    if not ready:
        return
    probabilities, indices, logits = run_batch(model, preset, [d.pixels for _, d in ready], k=k, device=device,
                                               channels_last=channels_last, keep_logits=keep_logits)
    for row, (outcome, _) in enumerate(ready):
        outcome.probabilities = probabilities[row].tolist()
        outcome.indices = indices[row].tolist()
        outcome.logits = logits[row] if logits is not None else None
