"""No NaN or infinity reaches a callback, and short runs schedule their learning rate without crashing."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest

import training.loop
from tests.training.training_helpers import tiny_config
from training import Callback, EpochStats, Progress, TrainingDiverged, fit
from training.callbacks import CallbackList, finite_or_none


class Recorder(Callback):
    def __init__(self):
        self.progress, self.epochs = [], []

    def on_progress(self, p):
        self.progress.append(p)

    def on_epoch_end(self, s):
        self.epochs.append(s)


def _nan_when_evaluating(create_model):
    """Return a create_model whose models answer NaN in eval mode only: training stays finite."""
    def create(*args, **kwargs):
        model = create_model(*args, **kwargs)
        model.register_forward_hook(lambda module, inputs, output: output if module.training else output * math.nan)
        return model
    return create


def test_nan_weights_after_the_last_step_stop_the_run_before_the_epoch_is_reported(colour_data, tmp_path,
                                                                                   monkeypatch):
    monkeypatch.setattr(training.loop, "create_model", _nan_when_evaluating(training.loop.create_model))
    recorder = Recorder()
    with pytest.raises(TrainingDiverged, match="validation loss became nan at epoch 1.*lower the learning rate"):
        fit(tiny_config(epochs=3), colour_data, out_dir=tmp_path, callbacks=[recorder])
    assert recorder.epochs == []
    json.dumps([p.to_dict() for p in recorder.progress], allow_nan=False)  # what a JSON column would take


def test_callbacks_get_none_for_every_number_that_is_not_finite():
    recorder = Recorder()
    callbacks = CallbackList([recorder])
    callbacks.on_progress(Progress(phase="train", loss=math.nan, accuracy=0.5, images_per_s=math.inf))
    callbacks.on_epoch_end(EpochStats(epoch=1, train_loss=math.inf, train_accuracy=0.5, val_loss=-math.inf,
                                      val_accuracy=None, lr=0.1, images_per_s=1.0, seconds=1.0))
    assert (recorder.progress[0].loss, recorder.progress[0].accuracy, recorder.progress[0].images_per_s) == \
        (None, 0.5, None)
    assert (recorder.epochs[0].train_loss, recorder.epochs[0].val_loss, recorder.epochs[0].lr) == (None, None, 0.1)
    assert finite_or_none({"a": [1.0, math.nan, {"b": math.inf}], "c": "text"}) == {"a": [1.0, None, {"b": None}],
                                                                                    "c": "text"}


def test_a_learning_rate_of_ten_never_sends_a_number_json_cannot_hold(colour_data, tmp_path):
    recorder = Recorder()
    try:
        fit(tiny_config(lr=10, epochs=3), colour_data, out_dir=tmp_path, callbacks=[recorder])
    except TrainingDiverged:
        pass  # diverging is fine; telling a callback about a NaN is not
    json.dumps([p.to_dict() for p in recorder.progress] + [s.to_dict() for s in recorder.epochs], allow_nan=False)


@pytest.mark.parametrize("scheduler", ["onecycle", "cosine", "step", "none"])
@pytest.mark.parametrize("epochs", [1, 2, 3, 5])
def test_one_batch_per_epoch_trains_under_every_schedule(colour_data, tmp_path, scheduler, epochs):
    # 48 training images in one batch of 48: one optimisation step per epoch (3 of them made OneCycleLR
    # divide by zero: its warm-up ended on step 0).
    result = fit(tiny_config(epochs=epochs, batch_size=48, scheduler=scheduler), colour_data, out_dir=tmp_path)
    assert [s.epoch for s in result.history] == list(range(1, epochs + 1)) and result.steps_per_epoch == 1
    assert all(0 <= s.lr <= 0.05 for s in result.history)


def test_nan_weights_without_a_validation_split_stop_the_run_too(colour_data, tmp_path, monkeypatch):
    no_val = dataclasses.replace(colour_data, splits=["train" if s == "val" else s for s in colour_data.splits])
    real_step = training.loop._Trainer._step

    def step_then_break_a_weight(self, images, labels):
        out = real_step(self, images, labels)
        if self.state.step == self.steps - 1:  # the epoch's last step: no later loss would show it
            next(self.model.parameters()).data.fill_(math.nan)
        return out

    monkeypatch.setattr(training.loop._Trainer, "_step", step_then_break_a_weight)
    recorder = Recorder()
    with pytest.raises(TrainingDiverged, match="a weight became nan at epoch 1"):
        fit(tiny_config(epochs=2), no_val, out_dir=tmp_path, callbacks=[recorder])
    assert recorder.epochs == []
