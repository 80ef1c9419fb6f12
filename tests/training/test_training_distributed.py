"""DistributedDataParallel on CPU: two gloo processes train one model and end with identical weights."""

from __future__ import annotations

import os
import socket

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from tests.training.training_helpers import tiny_config
from training import Callback, build_cache, fit, scan_image_folder
from training.checkpoint import load_checkpoint


class CountSteps(Callback):
    def __init__(self):
        self.epochs = 0

    def on_epoch_end(self, s):
        self.epochs += 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rank(rank: int, world: int, port: int, folder: str, cache_dir: str, out_dir: str) -> None:
    """Train as one rank of `world`, then save this rank's final weights."""
    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        data = build_cache(scan_image_folder(folder, seed=0), cache_size=16, cache_dir=cache_dir)
        counter = CountSteps()
        result = fit(tiny_config(epochs=2, batch_size=4), data, out_dir=out_dir, callbacks=[counter])
        torch.save({"model": result.model.state_dict(), "epochs_heard": counter.epochs,
                    "history": [s.to_dict() for s in result.history]}, f"{out_dir}/rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def test_two_ranks_end_with_identical_weights(colour_folder, colour_data, tmp_path):
    # colour_data has already built the cache in its folder; the ranks reuse it.
    cache_dir = str(colour_data.path.parent)
    mp.spawn(_rank, args=(2, _free_port(), str(colour_folder), cache_dir, str(tmp_path)), nprocs=2, join=True)
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(2)]
    a, b = ranks[0]["model"], ranks[1]["model"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    # Only rank 0 calls callbacks and writes checkpoints; both agree on the (pooled) validation results.
    assert ranks[0]["epochs_heard"] == 2 and ranks[1]["epochs_heard"] == 0
    numbers = ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr")
    assert [[h[k] for k in numbers] for h in ranks[0]["history"]] == \
        [[h[k] for k in numbers] for h in ranks[1]["history"]]
    checkpoint = load_checkpoint(tmp_path / "checkpoints" / "epoch_0002.pt")
    assert len(checkpoint["ranks"]) == 2  # every rank's random state is kept for an exact resume
    # Each rank took half of the 48 training images per epoch: 24 / batch 4 = 6 steps.
    assert checkpoint["scheduler"]["last_epoch"] == 2 * 6
