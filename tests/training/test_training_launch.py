"""fit_ranks: a run on two gloo ranks started as torchrun children, driven like fit() from one process."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.training.training_helpers import tiny_config
from training import Callback
from training.launch import RankFailed, fit_ranks


class Listener(Callback):
    """Count the epochs heard and ask to stop after `stop_after` progress reports of the training phase."""

    def __init__(self, stop_after: int | None = None):
        self.epochs, self.train_reports, self.stop_after = [], 0, stop_after

    def on_progress(self, p):
        self.train_reports += p.phase == "train"

    def on_epoch_end(self, s):
        self.epochs.append(s.epoch)

    def should_stop(self):
        return self.stop_after is not None and self.train_reports >= self.stop_after


def test_two_ranks_train_and_report_each_epoch_once(colour_data, tmp_path):
    listener = Listener()
    result = fit_ranks(tiny_config(epochs=3, batch_size=4, device="cpu"), colour_data, nproc=2,
                       out_dir=tmp_path, callbacks=[listener])
    assert listener.epochs == [1, 2, 3]
    assert [h.epoch for h in result.history] == [1, 2, 3] and not result.stopped
    assert result.history[-1].val_accuracy >= 0.8  # three plain colours: one rank learns them too
    assert (tmp_path / "checkpoints" / "best.pt").exists()
    assert result.model.training is False


def test_a_stop_request_stops_every_rank_with_a_checkpoint(colour_data, tmp_path):
    listener = Listener(stop_after=1)
    config = tiny_config(epochs=20, batch_size=2, device="cpu")
    result = fit_ranks(config, colour_data, nproc=2, out_dir=tmp_path, callbacks=[listener])
    assert result.stopped and len(result.history) < 20
    assert result.checkpoint_path is not None and result.checkpoint_path.exists()
    resumed = fit_ranks(config, colour_data, nproc=2, out_dir=tmp_path, resume=True)
    assert not resumed.stopped and [h.epoch for h in resumed.history] == list(range(1, 21))


def test_a_failing_rank_fails_the_run_with_its_own_error(colour_data, tmp_path):
    # Three classes of labels but two class names: every rank refuses, and the first to say so is quoted.
    with pytest.raises(RankFailed, match=r"^rank \d failed: labels go up to 2 but there are 2 class names$"):
        fit_ranks(tiny_config(device="cpu"), colour_data, nproc=2, out_dir=tmp_path, class_names=["a", "b"])


def _rank_pid(job_dir, rank: int) -> int | None:
    """Return the pid of the process running `rank` of the job in `job_dir`, read from /proc."""
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
            environ = (proc / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"training.ranks" in cmdline and str(job_dir).encode() in b" ".join(cmdline) \
                and f"RANK={rank}".encode() in environ:
            return int(proc.name)
    return None


class KillRank(Callback):
    """Kill a rank with SIGKILL (as the kernel's OOM killer would) once training is under way."""

    def __init__(self, job_dir):
        self.job_dir, self.killed = job_dir, False

    def on_progress(self, p):
        if p.phase == "train" and not self.killed:
            pid = _rank_pid(self.job_dir, 1)
            if pid:
                os.kill(pid, signal.SIGKILL)
                self.killed = True


def test_a_rank_that_dies_ends_the_group_and_the_run_says_so(colour_data, tmp_path):
    killer = KillRank(tmp_path / "ranks")
    start = time.monotonic()
    with pytest.raises(RankFailed, match=r"^rank 1 died: Signal 9 \(SIGKILL\)"):
        fit_ranks(tiny_config(epochs=200, batch_size=2, device="cpu"), colour_data, nproc=2, out_dir=tmp_path,
                  callbacks=[killer])
    assert killer.killed and time.monotonic() - start < 120  # the surviving rank was stopped, not waited for
    assert _rank_pid(tmp_path / "ranks", 0) is None
