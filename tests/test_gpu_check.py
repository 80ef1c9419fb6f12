"""bench/gpu_check.sh: without a GPU its CPU fallback runs end to end in seconds and prints every figure."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_gpu_check_falls_back_to_tiny_cpu_sizes_without_a_gpu(tmp_path):
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}  # as on a CI machine: no GPU to find
    done = subprocess.run(["bash", str(REPO / "bench" / "gpu_check.sh"), "--no-install", "--json",
                           str(tmp_path / "figures.json")], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "CPU fallback" in done.stdout and "DDP: skipped (needs 2 GPUs)" in done.stdout
    figures = json.loads((tmp_path / "figures.json").read_text())
    assert figures["device"] == "cpu"
    assert [row["case"] for row in figures["training"]] == ["custom 32 px"]
    assert all(row["epoch_ratio"] > 0 and row["call_ratio"] > 0 for row in figures["training"])
    assert figures["classification"]["ratio"] > 0
