"""Checkpoints written off the training thread: one at a time, never trusted half-written, failures never lost."""

from __future__ import annotations

import io
import threading
import time

import pytest
import torch

from tests.training.training_helpers import tiny_config
from training import Callback, fit
from training.checkpoint import CheckpointManager, load_checkpoint, save_checkpoint
from training.checkpoint_writer import CheckpointWriteError, snapshot


class StopAfterEpoch(Callback):
    def __init__(self, epoch: int):
        self.epoch, self.stop = epoch, False

    def on_epoch_end(self, s):
        self.stop = s.epoch >= self.epoch

    def should_stop(self) -> bool:
        return self.stop


class SlowSaves:
    """Stand in for CheckpointManager.save: slow, counting the writes in flight and where they ran."""

    def __init__(self, real, seconds: float = 0.15):
        self.real, self.seconds = real, seconds
        self.lock = threading.Lock()
        self.in_flight = self.most_in_flight = self.calls = 0
        self.threads: set[str] = set()

    def __call__(self, manager, state, **kwargs):
        with self.lock:
            self.in_flight += 1
            self.calls += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            self.threads.add(threading.current_thread().name)
        try:
            time.sleep(self.seconds)
            return self.real(manager, state, **kwargs)
        finally:
            with self.lock:
                self.in_flight -= 1


def _weights(out_dir, name: str) -> dict:
    return load_checkpoint(out_dir / "checkpoints" / name)["model"]


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _files(out_dir) -> list[str]:
    return sorted(p.name for p in (out_dir / "checkpoints").iterdir())


def test_writes_run_beside_training_one_at_a_time_and_all_land_before_fit_returns(colour_data, tmp_path,
                                                                                 monkeypatch):
    slow = SlowSaves(CheckpointManager.save)
    monkeypatch.setattr(CheckpointManager, "save", lambda self, state, **kw: slow(self, state, **kw))

    class Overlap(Callback):  # asked every step: counts the steps taken while a write was in flight
        steps_during_writes = 0

        def should_stop(self) -> bool:
            Overlap.steps_during_writes += slow.in_flight > 0
            return False

    result = fit(tiny_config(epochs=4), colour_data, out_dir=tmp_path, callbacks=[Overlap()])

    assert slow.calls == 4 and slow.most_in_flight == 1
    assert threading.current_thread().name not in slow.threads  # written off the training thread
    assert Overlap.steps_during_writes > 0  # and training went on meanwhile
    assert slow.in_flight == 0 and _files(tmp_path) == ["best.pt", "epoch_0003.pt", "epoch_0004.pt"]
    assert result.checkpoint_path == tmp_path / "checkpoints" / "epoch_0004.pt"
    assert _same(_weights(tmp_path, "best.pt"), result.model.state_dict())


@pytest.mark.parametrize("failing_epoch", [2, 4])  # mid-run, and the very last write
def test_an_error_in_the_writer_fails_the_run_with_its_message(colour_data, tmp_path, monkeypatch, failing_epoch):
    real = CheckpointManager.save

    def save(self, state, *, epoch, **kwargs):
        if epoch == failing_epoch:
            raise OSError(28, "No space left on device")
        return real(self, state, epoch=epoch, **kwargs)

    monkeypatch.setattr(CheckpointManager, "save", save)
    with pytest.raises(CheckpointWriteError, match=rf"epoch_000{failing_epoch}\.pt.*No space left on device"):
        fit(tiny_config(epochs=4), colour_data, out_dir=tmp_path)
    assert f"epoch_000{failing_epoch}.pt" not in _files(tmp_path)


def test_a_write_that_dies_midway_is_never_resumed_from(colour_data, tmp_path, monkeypatch):
    config = tiny_config(epochs=4, deterministic=True)
    fit(config, colour_data, out_dir=tmp_path / "straight")

    real_save = torch.save

    def dies_midway(state, f, *args, **kwargs):  # half the bytes reach the disk, then the writer dies
        buffer = io.BytesIO()
        real_save(state, buffer, *args, **kwargs)
        if load_checkpoint(io.BytesIO(buffer.getvalue()))["epoch"] == 3:
            f.write(buffer.getvalue()[: len(buffer.getvalue()) // 2])
            raise OSError(5, "Input/output error")
        f.write(buffer.getvalue())

    monkeypatch.setattr(torch, "save", dies_midway)
    with pytest.raises(CheckpointWriteError, match="epoch_0003.pt"):
        fit(config, colour_data, out_dir=tmp_path / "split")
    monkeypatch.undo()
    assert _files(tmp_path / "split") == ["best.pt", "epoch_0001.pt", "epoch_0002.pt"]

    resumed = fit(config, colour_data, out_dir=tmp_path / "split", resume=True)
    assert [s.epoch for s in resumed.history] == [1, 2, 3, 4]
    assert _same(_weights(tmp_path / "straight", "epoch_0004.pt"), _weights(tmp_path / "split", "epoch_0004.pt"))


def test_a_temporary_file_left_by_a_killed_writer_is_ignored_then_removed(colour_data, tmp_path):
    config = tiny_config(epochs=4, deterministic=True)
    fit(config, colour_data, out_dir=tmp_path / "straight")
    fit(config, colour_data, out_dir=tmp_path / "split", callbacks=[StopAfterEpoch(2)])

    # What a process killed while writing epoch 3 leaves: a temporary file holding half a checkpoint.
    folder = tmp_path / "split" / "checkpoints"
    whole = (tmp_path / "straight" / "checkpoints" / "epoch_0003.pt").read_bytes()
    leftover = folder / ".epoch_0003.pt.0badc0de.tmp"
    leftover.write_bytes(whole[: len(whole) // 2])
    assert CheckpointManager(folder, keep_last=2).latest().name == "epoch_0002.pt"

    resumed = fit(config, colour_data, out_dir=tmp_path / "split", resume=True)
    assert [s.epoch for s in resumed.history] == [1, 2, 3, 4]
    assert _same(_weights(tmp_path / "straight", "epoch_0004.pt"), _weights(tmp_path / "split", "epoch_0004.pt"))
    assert not leftover.exists()


def test_a_run_that_fails_still_lands_the_checkpoint_in_flight(colour_data, tmp_path, monkeypatch):
    slow = SlowSaves(CheckpointManager.save, seconds=0.3)
    monkeypatch.setattr(CheckpointManager, "save", lambda self, state, **kw: slow(self, state, **kw))

    class Crash(Callback):
        def on_epoch_end(self, s):
            if s.epoch == 2:
                raise RuntimeError("the callback broke")

    with pytest.raises(RuntimeError, match="the callback broke"):
        fit(tiny_config(epochs=4), colour_data, out_dir=tmp_path, callbacks=[Crash()])
    assert slow.in_flight == 0 and "epoch_0002.pt" in _files(tmp_path)
    assert load_checkpoint(tmp_path / "checkpoints" / "epoch_0002.pt")["epoch"] == 2


def test_a_snapshot_keeps_the_values_it_was_taken_with():
    model = torch.nn.BatchNorm1d(3)
    state = {"model": model.state_dict(), "history": [{"epoch": 1}], "order": torch.arange(4)}
    copied, events = snapshot(state)
    with torch.no_grad():
        model.weight.add_(1.0)  # what the next optimizer step does to the live tensors
    state["history"].append({"epoch": 2})
    assert events == [] and torch.equal(copied["model"]["weight"], torch.ones(3))
    assert copied["history"] == [{"epoch": 1}]
    assert copied["model"]._metadata == state["model"]._metadata  # load_state_dict reads layout versions here


def test_the_next_snapshot_refills_the_memory_of_the_last_one():
    weight = torch.zeros(4)
    buffers: dict = {}
    first, _ = snapshot({"w": weight}, buffers)
    weight.add_(1.0)
    second, _ = snapshot({"w": weight}, buffers)  # its write finished: its memory is free to reuse
    assert second["w"].data_ptr() == first["w"].data_ptr() != weight.data_ptr()
    assert torch.equal(second["w"], torch.ones(4))


def test_a_saved_checkpoint_is_one_file_with_no_temporary_left(tmp_path):
    save_checkpoint(tmp_path / "epoch_0001.pt", {"epoch": 1, "w": torch.ones(2)})
    assert [p.name for p in tmp_path.iterdir()] == ["epoch_0001.pt"]


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_a_snapshot_of_gpu_tensors_is_taken_before_the_next_step_changes_them():
    weight = torch.zeros(1 << 20, device="cuda")
    copied, events = snapshot({"w": weight})
    weight.add_(1.0)  # queued after the copy on the same stream, so the copy reads zeros
    for event in events:
        event.synchronize()
    assert copied["w"].device.type == "cpu" and copied["w"].is_pinned() and not copied["w"].any()
