"""Pick the device, the precision and the memory format a run uses, with a clean CPU fallback."""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass

import torch

from training.config import ConfigError, TrainConfig

# Families whose convolutions run faster in channels_last (ViT is all matmuls: no gain).
_CHANNELS_LAST_FAMILIES = frozenset({"resnet", "vgg", "custom"})


@dataclass(frozen=True)
class Precision:
    """How the hot loop computes: bf16 autocast or not, channels_last or not, compiled or not."""

    device: torch.device
    bf16: bool
    channels_last: bool
    compile: bool

    def autocast(self):
        """Return the autocast context for a forward pass."""
        if not self.bf16:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=torch.bfloat16)

    @property
    def memory_format(self) -> torch.memory_format:
        return torch.channels_last if self.channels_last else torch.contiguous_format


def resolve_device(choice: str, *, local_rank: int | None = None) -> torch.device:
    """Return the torch device for "auto", "cpu" or "cuda"; asking for CUDA without one is a ConfigError."""
    if choice == "cuda" and not torch.cuda.is_available():
        raise ConfigError({"device": "CUDA was asked for but no GPU is available here; use 'auto' or 'cpu'"})
    if choice in ("auto", "cuda") and torch.cuda.is_available():
        return torch.device("cuda", local_rank if local_rank is not None else torch.cuda.current_device())
    return torch.device("cpu")


def bf16_supported(device: torch.device) -> bool:
    """Return True if `device` computes bf16 natively (CUDA Ampere+, or a CPU with AVX512-BF16/AMX)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        try:
            return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
        except (AttributeError, RuntimeError):
            return False
    return False


def choose_precision(config: TrainConfig, device: torch.device, family: str) -> tuple[Precision, list[str]]:
    """Return the precision settings for `config` on `device`, and warnings about anything turned off."""
    warnings = []
    native = bf16_supported(device)
    if config.mixed_precision == "bf16" and not native:
        warnings.append(f"bf16 was asked for but {device.type} has no native bf16; it will be emulated (slow)")
    bf16 = config.mixed_precision == "bf16" or (config.mixed_precision == "auto" and native)
    # On CPU, channels_last only pays off through oneDNN's bf16 kernels; on CUDA it feeds the tensor cores.
    auto_cl = family in _CHANNELS_LAST_FAMILIES and (device.type == "cuda" or bf16)
    channels_last = config.channels_last == "on" or (config.channels_last == "auto" and auto_cl)
    compile_ = config.compile
    if compile_ and device.type == "cpu" and not (shutil.which("c++") or shutil.which("g++")):
        warnings.append("torch.compile needs a C++ compiler on CPU and none was found; running uncompiled")
        compile_ = False
    return Precision(device=device, bf16=bf16, channels_last=channels_last, compile=compile_), warnings


def set_determinism(deterministic: bool, device: torch.device) -> None:
    """Make kernels reproducible (slower) or let cuDNN pick the fastest algorithms."""
    if deterministic:
        # cuBLAS reads this when it first starts; without it some CUDA matmuls are not reproducible.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(deterministic, warn_only=True)
    if device.type == "cuda":
        torch.backends.cudnn.deterministic = deterministic
        torch.backends.cudnn.benchmark = not deterministic
