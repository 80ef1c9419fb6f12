"""fit(): learning, divergence, early stopping, callbacks, class balance and fine-tuning."""

from __future__ import annotations

import time

import pytest
import torch

import training.loop
from classifier.factory import create_model
from tests.training.training_helpers import TINY_BN_SPEC, tiny_config
from training import Callback, TrainingDiverged, evaluate, fit


class Recorder(Callback):
    def __init__(self):
        self.progress, self.epochs, self.times = [], [], []

    def on_progress(self, p):
        self.progress.append(p)
        self.times.append(time.monotonic())

    def on_epoch_end(self, s):
        self.epochs.append(s)


def test_it_learns_the_colours(colour_data, tmp_path):
    recorder = Recorder()
    result = fit(tiny_config(epochs=4), colour_data, out_dir=tmp_path, callbacks=[recorder])
    assert result.history[-1].val_accuracy == 1.0
    assert result.history[-1].train_loss < result.history[0].train_loss
    assert [s.epoch for s in recorder.epochs] == [1, 2, 3, 4]
    assert recorder.progress[-1].phase == "done"
    train = [p for p in recorder.progress if p.phase == "train"]
    assert train and all(p.images_per_s > 0 and p.lr > 0 and 0 <= p.accuracy <= 1 for p in train)
    assert not result.model.training and result.device.type == "cpu"


def test_callbacks_hear_at_most_four_times_a_second(colour_data, tmp_path):
    recorder = Recorder()
    fit(tiny_config(epochs=6), colour_data, out_dir=tmp_path, callbacks=[recorder])
    gaps = [b - a for a, b in zip(recorder.times[:-1], recorder.times[1:], strict=True)]
    assert all(gap >= training.loop.PROGRESS_INTERVAL_S * 0.99 for gap in gaps[:-1])  # "done" always goes


def _nan_on_forward(n: int):
    """Return a create_model that builds the real model, whose n-th training forward gives NaN."""
    real = training.loop.create_model

    def create(*args, **kwargs):
        model = real(*args, **kwargs)
        calls = {"n": 0}

        def hook(module, inputs, output):
            if module.training:
                calls["n"] += 1
                if calls["n"] == n:
                    return output * float("nan")
            return output

        model.register_forward_hook(hook)
        return model

    return create


def test_a_nan_loss_fails_naming_the_step(colour_data, tmp_path, monkeypatch):
    monkeypatch.setattr(training.loop, "create_model", _nan_on_forward(6 + 3))  # 6 steps per epoch
    with pytest.raises(TrainingDiverged, match="epoch 2, step 3 of 6") as caught:
        fit(tiny_config(epochs=3), colour_data, out_dir=tmp_path)
    assert (caught.value.epoch, caught.value.step) == (2, 3)


def test_an_infinite_loss_on_the_first_step_is_caught_too(colour_data, tmp_path, monkeypatch):
    monkeypatch.setattr(training.loop, "create_model", _nan_on_forward(1))
    with pytest.raises(TrainingDiverged, match="epoch 1, step 1 of 6.*lower the learning rate"):
        fit(tiny_config(epochs=1), colour_data, out_dir=tmp_path)


def test_early_stopping_ends_the_run_and_keeps_the_best_epoch(colour_data, tmp_path):
    # A learning rate far too small to change a float32 weight: validation never improves after epoch 1.
    config = tiny_config(epochs=10, patience=2, lr=1e-20, scheduler="none", spec=TINY_BN_SPEC[:1] + TINY_BN_SPEC[2:])
    result = fit(config, colour_data, out_dir=tmp_path)
    assert result.early_stopped and not result.stopped
    assert len(result.history) == 3 and result.best_epoch == 1


def test_the_best_epoch_is_chosen_by_validation(colour_data, tmp_path):
    result = fit(tiny_config(epochs=4, monitor="val_loss"), colour_data, out_dir=tmp_path)
    losses = [s.val_loss for s in result.history]
    assert result.best_epoch == 1 + losses.index(min(losses))


@pytest.mark.parametrize("balance", ["weights", "sampler"])
def test_class_balancing_trains_on_imbalanced_data(colour_data, tmp_path, balance):
    result = fit(tiny_config(epochs=3, class_balance=balance), colour_data, out_dir=tmp_path)
    assert result.history[-1].val_accuracy == 1.0


def test_head_only_fine_tuning_leaves_the_backbone_alone(colour_data, tmp_path):
    pretrained = create_model("custom", num_classes=5, image_size=16, spec=TINY_BN_SPEC)
    torch.save(pretrained.state_dict(), tmp_path / "weights.pth")
    result = fit(tiny_config(epochs=2, pretrained=str(tmp_path / "weights.pth"), finetune="head"),
                 colour_data, out_dir=tmp_path / "run")
    after = result.model.state_dict()
    for name, param in pretrained.named_parameters():
        if name.startswith("head."):
            assert param.shape != after[name].shape or not torch.equal(param, after[name])
        else:
            assert torch.equal(param, after[name]), name


def test_evaluate_predictions_agree_with_its_metrics(colour_data, tmp_path):
    result = fit(tiny_config(epochs=2), colour_data, out_dir=tmp_path)
    split = colour_data.split("val")
    report = evaluate(result.model, split, class_names=colour_data.class_names, preset=result.eval_preset)
    rows = report["predictions"]
    assert [r["record_index"] for r in rows] == split.record_indices
    assert report["top1"] == sum(r["true"] == r["predicted"] for r in rows) / len(rows)
    matrix = [[0] * 3 for _ in range(3)]
    for r in rows:
        matrix[r["true"]][r["predicted"]] += 1
        assert r["top5"][0] == [r["predicted"], r["confidence"]]
        assert len(r["top5"]) == 3 and abs(sum(p for _, p in r["top5"]) - 1) < 1e-6
    assert matrix == report["confusion_matrix"]
