"""Checkpoints and resume: stopping and resuming gives exactly the weights of never stopping."""

from __future__ import annotations

import torch

from tests.training.training_helpers import tiny_config
from training import Callback, fit
from training.checkpoint import load_checkpoint


class StopAfterEpoch(Callback):
    def __init__(self, epoch: int):
        self.epoch, self.stop = epoch, False

    def on_epoch_end(self, s):
        self.stop = s.epoch >= self.epoch

    def should_stop(self) -> bool:
        return self.stop


class StopAfterSteps(Callback):
    """Ask to stop once `steps` steps have been taken (should_stop is asked once per step)."""

    def __init__(self, steps: int):
        self.steps, self.asked = steps, 0

    def should_stop(self) -> bool:
        self.asked += 1
        return self.asked >= self.steps


def _same_weights(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _final(out_dir) -> dict:
    return load_checkpoint(out_dir / "checkpoints" / "epoch_0004.pt")["model"]


def test_two_epochs_then_resume_equals_four_straight(colour_data, tmp_path):
    config = tiny_config(epochs=4, deterministic=True)
    straight = fit(config, colour_data, out_dir=tmp_path / "straight")

    first = fit(config, colour_data, out_dir=tmp_path / "split", callbacks=[StopAfterEpoch(2)])
    assert first.stopped and len(first.history) == 2
    second = fit(config, colour_data, out_dir=tmp_path / "split", resume=True)
    assert not second.stopped and [s.epoch for s in second.history] == [1, 2, 3, 4]

    assert _same_weights(_final(tmp_path / "straight"), _final(tmp_path / "split"))
    assert _same_weights(straight.model.state_dict(), second.model.state_dict())
    assert [s.train_loss for s in straight.history] == [s.train_loss for s in second.history]


def test_a_stop_mid_epoch_keeps_a_checkpoint_and_resume_finishes_identically(colour_data, tmp_path):
    config = tiny_config(epochs=4, deterministic=True)  # 6 steps per epoch
    fit(config, colour_data, out_dir=tmp_path / "straight")

    # Asked 7 times in epoch 1 (6 steps, then once at its end), so the 9th ask is at step 2 of epoch 2.
    stopped = fit(config, colour_data, out_dir=tmp_path / "split", callbacks=[StopAfterSteps(9)])
    assert stopped.stopped
    assert stopped.checkpoint_path.name == "epoch_0001_step_000002.pt" and stopped.checkpoint_path.exists()
    assert len(stopped.history) == 1

    resumed = fit(config, colour_data, out_dir=tmp_path / "split", resume=True)
    assert len(resumed.history) == 4
    assert _same_weights(_final(tmp_path / "straight"), _final(tmp_path / "split"))


def test_only_the_best_and_the_last_checkpoints_are_kept(colour_data, tmp_path):
    result = fit(tiny_config(epochs=4, keep_last=2), colour_data, out_dir=tmp_path)
    names = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
    assert names == ["best.pt", "epoch_0003.pt", "epoch_0004.pt"]
    best = load_checkpoint(tmp_path / "checkpoints" / "best.pt")
    assert best["epoch"] == result.best_epoch
    assert _same_weights(best["model"], result.model.state_dict())  # the returned model is the best epoch's
    assert set(best) >= {"model", "optimizer", "scheduler", "scaler", "epoch", "step", "ranks", "config"}


def test_resume_refuses_a_changed_setting(colour_data, tmp_path):
    fit(tiny_config(epochs=2), colour_data, out_dir=tmp_path)
    try:
        fit(tiny_config(epochs=2, lr=0.5), colour_data, out_dir=tmp_path, resume=True)
    except ValueError as exc:
        assert "lr" in exc.errors
    else:
        raise AssertionError("resuming with another learning rate should be refused")


def test_resume_without_a_checkpoint_starts_fresh_and_says_so(colour_data, tmp_path):
    result = fit(tiny_config(epochs=1), colour_data, out_dir=tmp_path, resume=True)
    assert len(result.history) == 1 and any("no checkpoint" in w for w in result.warnings)
