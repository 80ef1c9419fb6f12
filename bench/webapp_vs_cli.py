"""Benchmark: training through the web app (worker task + database progress) vs `python -m training`.

Claim (issue 5): on the same data and config, the web app trains at >= 0.95 of the command line's speed.

    .venv/bin/python bench/webapp_vs_cli.py [--arch custom] [--epochs 2] [--rounds 8] [--json PATH]

Data: scikit-learn's 1,797 digits as PNGs (8x8 upscaled to 32 px), added through the datasets service
and frozen into a version; the CLI reads the same files exported as train/val/test/<class>/ folders.
Config: the run's full TrainConfig (from LaunchForm) is given to the CLI flag by flag, so both train the
same thing. Each round trains once through a real `celery worker` (launch -> task -> fit with the
progress/heartbeat callback writing to SQLite) and once with `python -m training` as a subprocess,
alternating which goes first, with every image cache already built (a warm-up round builds both).
Compared: (1) steady-state speed, the images/s of the epochs after the first (the first epoch of a fresh
CLI process pays one-off kernel warm-up that a long-lived worker has already paid); (2) fit() wall time
(`timings.fit_s` vs metrics.json `timings.train_s`).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import ROOT, machine, start_django  # noqa: E402
from launch_latency import start_worker, stop_worker, wait_status  # noqa: E402


def digits_version(user):
    """Return a frozen version of the 1,797 digits (80/10/10 stratified), added through the datasets service."""
    import numpy as np
    from PIL import Image
    from sklearn.datasets import load_digits

    from training.data import stratified_split
    from webapp.datasets.models import Dataset, DatasetClass
    from webapp.datasets.services.store import add_image
    from webapp.datasets.services.versions import freeze_version

    digits = load_digits()
    splits = stratified_split(digits.target.tolist(), ratios=(0.8, 0.1, 0.1), seed=0)
    dataset = Dataset.objects.create(owner=user, name="Digits")
    labels = [DatasetClass.objects.create(dataset=dataset, name=str(d), position=d) for d in range(10)]
    for image, target, split in zip(digits.images, digits.target, splits, strict=True):
        grey = Image.fromarray(np.round(image * (255 / 16)).astype(np.uint8)).resize((32, 32), Image.BILINEAR)
        out = io.BytesIO()
        grey.save(out, format="PNG")
        add_image(dataset, out.getvalue(), name="digit.png", label=labels[int(target)], split=split)
    dataset.touch()
    return freeze_version(dataset, user=user)


def export_folder(version, root: Path) -> Path:
    """Write the version's files as root/<split>/<class>/<id>.png (links, no copies) for the CLI."""
    from django.core.files.storage import default_storage

    from webapp.datasets.services.versions import version_records

    records, names = version_records(version)
    for image_id, stored, label, split in records:
        folder = root / split / names[label]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{image_id}.png").symlink_to(default_storage.path(stored))
    return root


def cli_flags(config: dict) -> list[str]:
    """Return `python -m training` options that reproduce `config` exactly."""
    flags = []
    for key, value in config.items():
        flag = "--" + key.replace("_", "-")
        if value is None:
            continue
        if isinstance(value, bool):
            flags.append(flag if value else f"--no-{key.replace('_', '-')}")
        elif isinstance(value, list):
            flags += [flag, json.dumps(value)]
        else:
            flags += [flag, str(value)]
    return flags


def ratios(web: list[float], cli: list[float], *, higher_is_better: bool) -> dict:
    """Return best-of-N, median and median-of-per-round speed ratios (web app over CLI) and the medians."""
    def speed(w, c):
        return w / c if higher_is_better else c / w

    best = max if higher_is_better else min
    return {"webapp_median": round(statistics.median(web), 3), "cli_median": round(statistics.median(cli), 3),
            "ratio_best_of_n": round(speed(best(web), best(cli)), 3),
            "ratio_median": round(speed(statistics.median(web), statistics.median(cli)), 3),
            "ratio_median_of_rounds": round(statistics.median(speed(w, c) for w, c in zip(web, cli, strict=True)), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="custom")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--threads", type=int, default=0, help="OMP_NUM_THREADS for both (0: torch's default)")
    parser.add_argument("--json", help="also save the numbers here")
    args = parser.parse_args()
    data_dir = start_django("lux-bench-webapp-cli-")
    from django.contrib.auth import get_user_model

    from webapp.runs.forms import LaunchForm
    from webapp.runs.models import TrainingRun

    user = get_user_model().objects.create_user("bench", password="not-used-for-login-42")
    version = digits_version(user)
    folder = export_folder(version, Path(tempfile.mkdtemp(prefix="lux-bench-folder-")))
    launch = {"version": version.pk, "arch": args.arch, "image_size": 32, "epochs": args.epochs,
              "batch_size": args.batch_size, "seed": 0}
    probe = LaunchForm(data=launch, user=user)
    assert probe.is_valid(), probe.errors
    config = probe.resolved.config.to_dict()
    cli_cache = Path(tempfile.mkdtemp(prefix="lux-bench-cli-cache-"))
    devices = set()
    if args.threads:  # the worker and the CLI inherit it: both train with the same number of threads
        os.environ["OMP_NUM_THREADS"] = str(args.threads)

    def webapp() -> float:
        form = LaunchForm(data=launch, user=user)
        assert form.is_valid(), form.errors
        run = form.launch()
        wait_status(run.pk, ["succeeded", "failed", "cancelled"], timeout=1800, interval=0.2)
        run = TrainingRun.objects.get(pk=run.pk)
        assert run.status == "succeeded", run.error
        epochs = list(run.epochs.order_by("epoch").values_list("images_per_s", flat=True))
        devices.add(run.device)
        return {"fit_s": run.timings["fit_s"], "steady_images_per_s": statistics.mean(epochs[1:] or epochs)}

    def cli() -> float:
        out = Path(tempfile.mkdtemp(prefix="lux-bench-cli-out-"))
        cmd = [sys.executable, "-m", "training", "--data", str(folder), "--out", str(out), "--cache-dir",
               str(cli_cache), "--quiet", *cli_flags(config)]
        subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True)
        metrics = json.loads((out / "metrics.json").read_text())
        shutil.rmtree(out, ignore_errors=True)
        epochs = [e["images_per_s"] for e in metrics["epochs"]]
        return {"fit_s": metrics["timings"]["train_s"], "steady_images_per_s": statistics.mean(epochs[1:] or epochs)}

    worker, _ = start_worker(data_dir)
    try:
        webapp(), cli()  # warm-up: builds both image caches and the worker's process
        rounds = {"webapp": [], "cli": []}
        for r in range(args.rounds):
            order = [("webapp", webapp), ("cli", cli)] if r % 2 == 0 else [("cli", cli), ("webapp", webapp)]
            for name, fn in order:
                rounds[name].append(fn())
            print(f"  round {r + 1}/{args.rounds}: webapp {rounds['webapp'][-1]}, cli {rounds['cli'][-1]}",
                  file=sys.stderr, flush=True)
    finally:
        stop_worker(worker)
    result = {
        "benchmark": "webapp_vs_cli", "machine": machine(), "target": 0.95,
        "config": {**config, "rounds": args.rounds, "images": version.counts["per_split"],
                   "omp_num_threads": os.environ.get("OMP_NUM_THREADS"), "webapp_device": sorted(devices)},
        # Every ratio is web app speed / CLI speed: > 1 means the web app is faster; the claim is >= 0.95.
        "steady_state_images_per_s": ratios([r["steady_images_per_s"] for r in rounds["webapp"]],
                                            [r["steady_images_per_s"] for r in rounds["cli"]], higher_is_better=True),
        "fit_seconds": ratios([r["fit_s"] for r in rounds["webapp"]], [r["fit_s"] for r in rounds["cli"]],
                              higher_is_better=False),
    }
    print(json.dumps(result, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps({**result, "rounds": rounds}, indent=1))


if __name__ == "__main__":
    main()
