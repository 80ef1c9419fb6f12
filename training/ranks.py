"""One rank of a multi-process run that training.launch.fit_ranks started under torchrun.

    python -m torch.distributed.run --standalone --nproc_per_node=N -m training.ranks JOB_DIR/job.json

Every rank opens the cache the supervisor built and trains its shard with DistributedDataParallel. Rank 0
alone talks to the supervisor, through files in JOB_DIR: it appends progress and finished epochs to
events.jsonl, stops when the file `stop` appears (the loop shares that with every rank on the same step),
and writes result.json and model.pt (the best weights) at the end. A rank that fails writes
error-<rank>.json with its message and traceback, so the supervisor can name the rank that failed first.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import traceback
from pathlib import Path

import torch

from training import distributed
from training.cache import open_cache
from training.callbacks import Callback
from training.config import TrainConfig
from training.loop import fit

EVENTS, STOP, RESULT, MODEL = "events.jsonl", "stop", "result.json", "model.pt"


def error_name(rank: int) -> str:
    """Return the file a failing rank writes its error to."""
    return f"error-{rank}.json"


class FileChannel(Callback):
    """Rank 0's link to the supervisor: events appended to a file, a stop request read from one."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.events = open(folder / EVENTS, "a", buffering=1)  # a line at a time: the supervisor tails it

    def _send(self, kind: str, values: dict) -> None:
        self.events.write(json.dumps({"kind": kind, **values}) + "\n")

    def on_progress(self, p) -> None:
        self._send("progress", p.to_dict())

    def on_epoch_end(self, s) -> None:
        self._send("epoch", s.to_dict())

    def should_stop(self) -> bool:
        return (self.folder / STOP).exists()


def _exit_with_launcher() -> None:
    """End this rank at once if torchrun dies (its supervisor was killed): no orphan keeps writing checkpoints."""
    launcher = os.getppid()

    def watch():
        while True:
            time.sleep(1.0)
            if os.getppid() != launcher:
                os._exit(1)

    threading.Thread(target=watch, name="launcher-watch", daemon=True).start()


def _write_json(path: Path, value) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(value))
    os.replace(tmp, path)


def run_rank(job_path: Path) -> int:
    """Train this rank's share of the job; return the exit status."""
    job = json.loads(job_path.read_text())
    folder = job_path.parent
    _exit_with_launcher()
    ctx = distributed.init_from_env()
    try:
        config = TrainConfig.from_dict(job["config"])
        data = open_cache(job["cache"])
        channel = FileChannel(folder) if ctx.is_main else None
        result = fit(config, data, out_dir=job["out_dir"], callbacks=[channel] if channel else [],
                     resume=job["resume"], class_names=job["class_names"])
        if ctx.is_main:
            torch.save(result.model.state_dict(), folder / MODEL)
            _write_json(folder / RESULT, {
                "best_epoch": result.best_epoch, "history": [h.to_dict() for h in result.history],
                "stopped": result.stopped, "early_stopped": result.early_stopped, "warnings": result.warnings,
                "steps_per_epoch": result.steps_per_epoch,
                "checkpoint_path": str(result.checkpoint_path) if result.checkpoint_path else None})
        return 0
    except Exception as exc:
        _write_json(folder / error_name(ctx.rank), {
            "rank": ctx.rank, "at": time.time(), "type": type(exc).__name__,
            "message": str(exc) or type(exc).__name__, "traceback": traceback.format_exc()})
        return 1
    finally:
        distributed.shutdown()


if __name__ == "__main__":
    sys.exit(run_rank(Path(sys.argv[1])))
