"""Convolutions over small feature maps as one matrix multiply, where this CPU runs that clearly faster.

oneDNN's convolution kernels are slow on maps of a few positions. Measured on a 2-core AMX Xeon (bf16 autocast,
batch 64): the backward of resnet18's 512-channel 3x3 convolutions at 2x2 (64 px images) took 20 ms a call, while
the same product as one bf16 matmul takes 0.4 ms; the whole training step ran 1.3x faster with those five
convolutions as matmuls, and slower with the 4x4 and larger ones too (unfold's copies cost more than they save).
So, as cuDNN's benchmark mode does on a GPU, each candidate is timed both ways at the run's own shapes before the
first step, and switched only where the matmul wins clearly.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn

MAX_POSITIONS = 16  # output maps of at most this many positions (4x4) are tried; larger ones lost as matmuls
MIN_SPEEDUP = 1.15  # the matmul must beat the kernel by this much: timing noise on a shared machine
REPEATS = 3  # timed calls of each form per candidate, after one warm-up call each


class MatmulConv2d(nn.Conv2d):
    """A Conv2d computed as unfold + one matmul: the same parameters, state dict and function."""

    def _conv_forward(self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        if x.dim() != 4:
            return super()._conv_forward(x, weight, bias)
        n, _, h, w = x.shape
        oh, ow = output_size(self, h, w)
        cols = F.unfold(x, self.kernel_size, dilation=self.dilation, padding=self.padding,
                        stride=self.stride)  # (N, C*kh*kw, oh*ow)
        out = weight.flatten(1) @ cols  # (O, C*kh*kw) @ (N, C*kh*kw, L) -> (N, O, L)
        if bias is not None:
            out = out + bias.to(out.dtype)[:, None]  # the kernel's output dtype under autocast, not fp32
        return out.view(n, self.out_channels, oh, ow)


@dataclass(frozen=True)
class Probe:
    """What one convolution receives in a training step: the shape, dtype and layout of its input."""

    shape: tuple[int, ...]
    dtype: torch.dtype
    channels_last: bool
    requires_grad: bool


def output_size(conv: nn.Conv2d, h: int, w: int) -> tuple[int, int]:
    """Return the (height, width) `conv` makes of an h x w map."""
    return tuple((size + 2 * p - d * (k - 1) - 1) // s + 1 for size, p, d, k, s in
                 zip((h, w), conv.padding, conv.dilation, conv.kernel_size, conv.stride, strict=True))


def eligible(module: nn.Module) -> bool:
    """Return whether `module` is a plain convolution the matmul form computes exactly as it is."""
    return (type(module) is nn.Conv2d and module.groups == 1 and module.padding_mode == "zeros"
            and not isinstance(module.padding, str))


def probe(model: nn.Module, example: torch.Tensor, autocast: Callable) -> dict[str, Probe]:
    """Return, for each eligible convolution with a small output map, what it receives when `model` sees `example`.

    The forward runs in eval mode (BatchNorm's statistics stay as they were) with autograd on, so each input says
    whether a step needs its gradient. `example` may be a batch of one: only the maps' sizes are read.
    """
    found: dict[str, Probe] = {}

    def record(name: str):
        def hook(module, args):
            x = args[0]
            oh, ow = output_size(module, x.shape[2], x.shape[3])
            if oh * ow <= MAX_POSITIONS:
                found[name] = Probe(tuple(x.shape), x.dtype, _is_channels_last(x), x.requires_grad)
        return hook

    hooks = [m.register_forward_pre_hook(record(name)) for name, m in model.named_modules() if eligible(m)]
    was_training = model.training
    try:
        model.eval()
        with torch.enable_grad(), autocast():
            model(example)
    finally:
        model.train(was_training)
        for hook in hooks:
            hook.remove()
    return found


def speedup(conv: nn.Conv2d, seen: Probe, autocast: Callable, clock: Callable[[], float] = time.perf_counter) -> float:
    """Return how many times faster a forward and backward of `conv` runs as a matmul than as a kernel."""
    generator = torch.Generator(conv.weight.device).manual_seed(0)  # the run's own random streams stay untouched
    x = torch.randn(seen.shape, generator=generator, device=conv.weight.device).to(seen.dtype)
    x = x.contiguous(memory_format=torch.channels_last if seen.channels_last else torch.contiguous_format)
    x.requires_grad_(seen.requires_grad)
    wrt = [t for t in (x, conv.weight, conv.bias) if t is not None and t.requires_grad]

    def step() -> float:
        started = clock()
        with autocast():
            out = conv(x)
        if wrt:  # autograd.grad, not backward: the parameters' .grad stay as they were
            torch.autograd.grad(out, wrt, torch.ones_like(out))
        return clock() - started

    times: dict[type, list[float]] = {nn.Conv2d: [], MatmulConv2d: []}
    try:
        for _ in range(REPEATS + 1):  # the forms alternate, so a noisy moment hurts both
            for form in times:
                conv.__class__ = form
                times[form].append(step())
    finally:
        conv.__class__ = nn.Conv2d
    native, matmul = (statistics.median(t[1:]) for t in times.values())
    return native / max(matmul, 1e-9)


def tune(model: nn.Module, batch: int, example: torch.Tensor, autocast: Callable) -> tuple[list[str], list[str]]:
    """Return (candidates, the ones a matmul runs at least MIN_SPEEDUP times faster) for `model` on batches of
    `batch` images like `example` (one image, (1, 3, S, S), in the run's layout).
    """
    probes = probe(model, example, autocast)
    faster = [name for name, seen in probes.items()
              if speedup(model.get_submodule(name), replace(seen, shape=(batch, *seen.shape[1:])), autocast)
              >= MIN_SPEEDUP]
    return list(probes), faster


def use(model: nn.Module, names: list[str]) -> None:
    """Compute the named convolutions of `model` as matmuls (names that are no plain convolution are skipped)."""
    for name in names:
        try:
            module = model.get_submodule(name)
        except AttributeError:
            continue
        if eligible(module):
            module.__class__ = MatmulConv2d


def plain(model: nn.Module) -> None:
    """Make every matmul convolution of `model` a plain Conv2d again."""
    for module in model.modules():
        if type(module) is MatmulConv2d:
            module.__class__ = nn.Conv2d


def _is_channels_last(x: torch.Tensor) -> bool:
    return x.dim() == 4 and not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last)
