"""Train one run on several devices from inside a process: torchrun as a child, one rank per device.

fit_ranks() is fit() for N ranks: the same arguments and the same FitResult, with the callbacks called in
this process from what rank 0 reports (training.ranks). Cancelling is a callback's should_stop(), as for fit():
rank 0 sees it on its next step and every rank stops there, with the checkpoint kept. A rank that fails ends
the group (torchrun stops the others) and fit_ranks raises RankFailed with that rank's own error; nothing
waits forever: collectives time out (LUX_DIST_TIMEOUT_S) and a group that goes silent is killed.
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path

import torch

from classifier.factory import create_model
from training import ranks
from training.cache import CachedData
from training.callbacks import Callback, CallbackList, EpochStats, Progress
from training.config import TrainConfig
from training.device import resolve_device
from training.loop import FitResult
from training.preprocessing import presets_for

POLL_S = 0.2
STOP_GRACE_S = 120.0  # after a stop request, ranks that have not ended by then are killed
SILENCE_LIMIT_S = 1800.0  # no event from rank 0 for this long: the group is stuck, kill it
LOG_TAIL = 4000  # characters of torchrun's output kept in the error of a rank that left no error file


class RankFailed(RuntimeError):
    """A rank of a multi-process run failed; the message is that rank's own error."""


def fit_ranks(config: TrainConfig, data: CachedData, *, nproc: int, out_dir, callbacks: Iterable[Callback] = (),
              resume: bool = False, class_names: list[str] | None = None,
              silence_limit_s: float = SILENCE_LIMIT_S) -> FitResult:
    """Train `config` on `data` with `nproc` DDP ranks (one per GPU, or gloo processes on a CPU)."""
    config.validate()
    if nproc < 2:
        raise ValueError(f"fit_ranks needs at least 2 ranks, got {nproc}")
    if config.device != "cpu" and torch.cuda.is_available() and torch.cuda.device_count() < nproc:
        raise RankFailed(f"this run asks for {nproc} GPUs but this machine shows {torch.cuda.device_count()} "
                         "(CUDA_VISIBLE_DEVICES may hide some)")
    out_dir, notify = Path(out_dir), CallbackList(callbacks)
    folder = out_dir / "ranks"
    shutil.rmtree(folder, ignore_errors=True)  # events, errors and results of an earlier attempt
    folder.mkdir(parents=True)
    names = list(class_names or data.class_names)
    job = folder / "job.json"
    job.write_text(json.dumps({"config": config.to_dict(), "cache": str(data.path), "out_dir": str(out_dir),
                               "resume": resume, "class_names": names}))
    log_path = folder / "torchrun.log"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
           "--max_restarts=0", "-m", "training.ranks", str(job)]
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=_rank_env(),
                                preexec_fn=_die_with_parent, start_new_session=True)
        try:
            _supervise(proc, folder, notify, silence_limit_s)
        finally:
            _end(proc)
    result_path = folder / ranks.RESULT
    if proc.returncode != 0 or not result_path.exists():
        raise RankFailed(_failure(folder, proc.returncode, log_path))
    return _result(config, json.loads(result_path.read_text()), folder, names)


def _rank_env() -> dict[str, str]:
    env = dict(os.environ)
    # The ranks split this machine's cores between them, as torchrun would; an explicit setting wins.
    env.setdefault("OMP_NUM_THREADS", "1")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _die_with_parent() -> None:
    """In the child: have Linux send torchrun SIGTERM if this process dies, so its ranks end with it."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass  # not Linux: the ranks' own watch on their launcher still ends them


def _supervise(proc: subprocess.Popen, folder: Path, notify: CallbackList, silence_limit_s: float) -> None:
    """Relay rank 0's events until the group exits; ask it to stop, and kill it if it will not."""
    offset, stop_sent, last_event = 0, None, time.monotonic()
    while True:
        offset, seen = _relay(folder / ranks.EVENTS, offset, notify)
        now = time.monotonic()
        if seen:
            last_event = now
        if proc.poll() is not None:
            _relay(folder / ranks.EVENTS, offset, notify)  # the last lines rank 0 wrote
            return
        if stop_sent is None and notify.should_stop():
            (folder / ranks.STOP).touch()
            stop_sent = now
        if stop_sent is not None and now - stop_sent > STOP_GRACE_S:
            _kill(proc)
            return
        if now - last_event > silence_limit_s:
            (folder / "silent").write_text(f"no progress from rank 0 for {silence_limit_s:.0f} s")
            _kill(proc)
            return
        time.sleep(POLL_S)


def _relay(path: Path, offset: int, notify: CallbackList) -> tuple[int, bool]:
    """Pass the complete lines after `offset` to the callbacks; return (new offset, whether any came)."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            chunk = f.read()
    except FileNotFoundError:
        return offset, False
    end = chunk.rfind(b"\n") + 1  # a line still being written waits for the next call
    for line in chunk[:end].splitlines():
        event = json.loads(line)
        kind = event.pop("kind")
        if kind == "progress":
            notify.on_progress(Progress(**event))
        elif kind == "epoch":
            notify.on_epoch_end(EpochStats(**event))
    return offset + end, end > 0


def _kill(proc: subprocess.Popen) -> None:
    """Kill torchrun and its ranks (they share its session)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def _end(proc: subprocess.Popen) -> None:
    """Leave no rank behind, whatever ended the supervision (an exception in a callback included)."""
    if proc.poll() is None:
        _kill(proc)
    else:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # a rank torchrun failed to reap
        except ProcessLookupError:
            pass


def _failure(folder: Path, returncode: int | None, log_path: Path) -> str:
    """Return the error of the rank that failed first: its own message, or how it died when it could not tell."""
    errors = {}
    for path in folder.glob("error-*.json"):
        try:
            error = json.loads(path.read_text())
        except ValueError:
            continue
        errors[error["rank"]] = error
    log = log_path.read_text(errors="replace") if log_path.exists() else ""
    root = _root_cause(log)
    if root is not None:
        rank, how = root
        if rank in errors:
            return f"rank {rank} failed: {errors[rank]['message']}"
        return f"rank {rank} died: {how}"
    if errors:  # the others' errors (a peer that vanished) come later than the cause
        first = min(errors.values(), key=lambda e: (e["at"], e["rank"]))
        return f"rank {first['rank']} failed: {first['message']}"
    if (folder / "silent").exists():
        return f"the ranks were stopped: {(folder / 'silent').read_text()}"
    return (f"torchrun exited with status {returncode} and no rank reported an error; its output ends:\n"
            f"{log[-LOG_TAIL:]}")


def _root_cause(log: str) -> tuple[int, str] | None:
    """Return (rank, how it ended) from the "Root Cause" block torchrun prints when a rank fails, if any."""
    _, found, block = log.rpartition("Root Cause (first observed failure):")
    rank = re.search(r"^\s*rank\s*:\s*(\d+)", block, re.MULTILINE) if found else None
    if rank is None:
        return None
    how = re.search(r"^\s*traceback\s*:\s*(.+)$", block, re.MULTILINE)
    code = re.search(r"^\s*exitcode\s*:\s*(-?\d+)", block, re.MULTILINE)
    text = how.group(1).strip() if how and "Signal" in how.group(1) else f"exit status {code.group(1) if code else '?'}"
    return int(rank.group(1)), text


def _result(config: TrainConfig, saved: dict, folder: Path, class_names: list[str]) -> FitResult:
    """Rebuild rank 0's FitResult in this process: the best weights on this process's device."""
    device = resolve_device(config.device)
    model = create_model(config.arch, num_classes=len(class_names), image_size=config.image_size,
                         pretrained=None, spec=config.spec, class_names=class_names)
    model.load_state_dict(torch.load(folder / ranks.MODEL, map_location="cpu", weights_only=True))
    model.to(device).eval()
    _, eval_preset = presets_for(config)
    checkpoint = saved["checkpoint_path"]
    return FitResult(model=model, best_epoch=saved["best_epoch"],
                     history=[EpochStats(**h) for h in saved["history"]], stopped=saved["stopped"],
                     checkpoint_path=Path(checkpoint) if checkpoint else None, device=device,
                     warnings=list(saved["warnings"]), early_stopped=saved["early_stopped"],
                     eval_preset=eval_preset, steps_per_epoch=saved["steps_per_epoch"])
