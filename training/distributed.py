"""Several processes training one model with DistributedDataParallel (launched by torchrun).

Every rank holds the same cached data and draws the same epoch order; each takes its own
shard of it. Rank 0 alone writes checkpoints and calls callbacks; a stop request or a diverged
loss is shared every step, so all ranks stop on the same step.

Launch: torchrun --nproc_per_node=4 -m training --data DIR --arch resnet18 --out OUT
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist
from torch import nn

from training.cache import CachedData, build_cache
from training.data import DataSource


@dataclass(frozen=True)
class DistContext:
    """Where this process stands in the group (rank 0 of 1 when not distributed)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world_size > 1


def context() -> DistContext:
    """Return this process's place in the initialised process group, or the single-process context."""
    if not (dist.is_available() and dist.is_initialized()):
        return DistContext()
    return DistContext(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", 0)))


def init_from_env() -> DistContext:
    """Join the process group torchrun describes in the environment (NCCL on GPUs, gloo on CPUs)."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or dist.is_initialized():
        return context()
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(local_rank)
    # A rank waiting on a peer that never answers fails after this long instead of hanging the run.
    timeout = timedelta(seconds=float(os.environ.get("LUX_DIST_TIMEOUT_S", "600")))
    dist.init_process_group(backend=backend, timeout=timeout)
    return context()


def shutdown() -> None:
    """Leave the process group, if this process joined one."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def shard(order: torch.Tensor, ctx: DistContext) -> torch.Tensor:
    """Return this rank's share of an epoch order, padded by wrapping so every rank takes as many steps."""
    if not ctx.active:
        return order
    padded = -(-len(order) // ctx.world_size) * ctx.world_size
    order = torch.cat([order, order[: padded - len(order)]]) if padded > len(order) else order
    return order[ctx.rank::ctx.world_size]


def all_reduce(tensor: torch.Tensor, op: str = "sum") -> torch.Tensor:
    """Reduce `tensor` in place across ranks ("sum" or "max"); a no-op in a single process."""
    if context().active:
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM if op == "sum" else dist.ReduceOp.MAX)
    return tensor


def all_gather(obj) -> list:
    """Return [obj of rank 0, obj of rank 1, ...]; a one-item list in a single process."""
    ctx = context()
    if not ctx.active:
        return [obj]
    out = [None] * ctx.world_size
    dist.all_gather_object(out, obj)
    return out


def broadcast_buffers(model: nn.Module) -> None:
    """Copy rank 0's buffers (BatchNorm running statistics) to every rank, so all ranks hold one model."""
    if context().active:
        for buffer in model.buffers():
            dist.broadcast(buffer, src=0)


def barrier() -> None:
    """Wait for every rank; a no-op in a single process."""
    if context().active:
        dist.barrier()


def wrap(model: nn.Module, device: torch.device) -> nn.Module:
    """Return `model` inside DistributedDataParallel when distributed, else unchanged."""
    if not context().active:
        return model
    device_ids = [device.index] if device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(model, device_ids=device_ids)


def build_cache_shared(source: DataSource, **kwargs) -> CachedData:
    """Build the cache on each machine's first rank while the others wait, then let them open the file."""
    ctx = context()
    if ctx.local_rank == 0:
        cached = build_cache(source, **kwargs)
    barrier()
    if ctx.local_rank != 0:
        cached = build_cache(source, **{**kwargs, "progress": None})
    return cached
