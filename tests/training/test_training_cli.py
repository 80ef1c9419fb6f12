"""python -m training: an image folder in, a model and its test metrics out."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from classifier.factory import load_model
from training.cli import main

REPO = Path(__file__).resolve().parents[2]


def _run(*args: str, timeout: int = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "training", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout)


def test_it_trains_a_folder_and_writes_the_model_and_metrics(colour_folder, tmp_path):
    out = tmp_path / "out"
    done = _run("--data", str(colour_folder), "--arch", "custom", "--epochs", "4", "--image-size", "16",
                "--batch-size", "8", "--out", str(out), "--cache-dir", str(tmp_path / "cache"))
    assert done.returncode == 0, done.stderr
    assert "test accuracy" in done.stdout
    assert "epoch 4:" in done.stderr  # the per-epoch lines under the progress bar

    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test_accuracy"] >= 0.99 and metrics["top5_accuracy"] == 1.0
    assert metrics["class_names"] == ["blue", "green", "red"]
    assert sum(map(sum, metrics["confusion_matrix"])) == 6 == metrics["num_samples"]
    assert [row["class"] for row in metrics["per_class"]] == metrics["class_names"]
    assert [e["epoch"] for e in metrics["epochs"]] == [1, 2, 3, 4]
    assert {"train_loss", "train_accuracy", "val_loss", "val_accuracy"} <= set(metrics["epochs"][0])
    assert (out / "checkpoints" / "best.pt").exists() and (out / "checkpoints" / "epoch_0004.pt").exists()

    model, card = load_model(out / "model.safetensors")
    assert card.class_names == ["blue", "green", "red"] and card.arch == "custom" and card.image_size == 16
    predictions = json.loads((out / "predictions.json").read_text())
    assert len(predictions) == 6 and all(Path(p["file"]).exists() for p in predictions)


def test_resume_continues_a_finished_run_without_training_again(colour_folder, tmp_path):
    args = ("--data", str(colour_folder), "--arch", "custom", "--epochs", "2", "--image-size", "16",
            "--batch-size", "8", "--out", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache"), "--quiet")
    assert _run(*args).returncode == 0
    again = _run(*args, "--resume")
    assert again.returncode == 0, again.stderr
    assert json.loads((tmp_path / "out" / "metrics.json").read_text())["epochs"][-1]["epoch"] == 2


@pytest.mark.parametrize(("args", "words"), [
    (["--epochs", "0"], "epochs"),
    (["--arch", "resnet181"], "resnet18"),
    (["--optimizer", "adam"], "optimizer"),
    (["--lr", "fast"], "--lr"),
    (["--split", "0.5,0.5"], "--split"),
    (["--spec", "[{"], "--spec"),
    (["--bogus", "1"], "--bogus"),
])
def test_bad_arguments_give_one_line_and_exit_status_2(colour_folder, tmp_path, capsys, args, words):
    status = main(["--data", str(colour_folder), "--out", str(tmp_path), *args])
    lines = capsys.readouterr().err.strip().splitlines()
    assert status == 2
    assert len(lines) == 1 and lines[0].startswith("error:") and words in lines[0]


def test_a_missing_data_folder_exits_with_status_2(tmp_path):
    done = _run("--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out"), timeout=60)
    assert done.returncode == 2 and done.stderr.strip() == f"error: --data {tmp_path / 'nowhere'}: no such folder"
