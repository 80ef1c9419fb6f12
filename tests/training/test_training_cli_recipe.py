"""python -m training with settings left out: the recipe that fits the folder fills them in, and says so."""

from __future__ import annotations

import json

from training.cli import main
from training.recipes import recipe_for


def test_settings_left_out_come_from_the_folders_recipe(colour_folder, tmp_path, capsys):
    status = main(["--data", str(colour_folder), "--out", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "c"),
                   "--arch", "custom", "--epochs", "3", "--mirror"])
    assert status == 0
    err = capsys.readouterr().err
    assert "recipe: 48 training images → 3 epochs of 6 steps, batch 8, lr 0.00071, 32 px" in err
    config = json.loads((tmp_path / "out" / "metrics.json").read_text())["config"]
    expected = recipe_for("custom", train_images=48, num_classes=3, median_size=(16, 16), given={"epochs": 3})
    assert {k: config[k] for k in expected.settings} == expected.settings
    assert config["mirror"] is True and config["rotate"] is False


def test_metrics_carry_the_health_warnings_and_the_cli_prints_them(colour_folder, tmp_path, capsys):
    status = main(["--data", str(colour_folder), "--out", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "c"),
                   "--arch", "custom", "--epochs", "1", "--image-size", "16", "--quiet"])
    assert status == 0
    health = json.loads((tmp_path / "out" / "metrics.json").read_text())["health"]
    assert {"too_few_steps", "small_test"} <= {h["code"] for h in health}
    err = capsys.readouterr().err
    assert "warning: The run takes only 6 optimisation steps" in err and "Try --epochs " in err
