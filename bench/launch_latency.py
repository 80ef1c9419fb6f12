"""Benchmark: how long a launched run waits before an idle worker starts it (launch -> running).

Claim (issue 5): with an idle worker, a run is "running" within 1 s of its launch (median).

    .venv/bin/python bench/launch_latency.py [--launches 15] [--json PATH]

A throwaway SQLite database, media folder and filesystem broker (the embedded default) and one real
`celery worker -Q gpu -c 1`. Each launch goes through LaunchForm.launch() (freeze check, row, task sent on
commit); the clock stops when the row says "running" (the worker's atomic claim), polled every 5 ms. Each
run is then cancelled and the next launch waits until the worker is idle again.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import ROOT, machine, start_django  # noqa: E402


def start_worker(data_dir: Path, *, queues: str = "gpu") -> tuple[subprocess.Popen, Path]:
    """Start `celery worker` on the benchmark's database and broker; return it once it consumes."""
    from django.conf import settings

    log = data_dir / "worker.log"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{settings.DATABASES['default']['NAME']}",
           "MEDIA_ROOT": str(settings.MEDIA_ROOT), "PYTHONUNBUFFERED": "1", "LOG_LEVEL": "INFO"}
    cmd = [sys.executable, "-m", "celery", "-A", "webapp", "worker", "-Q", queues, "-c", "1", "-n", "bench@%h",
           "--without-gossip", "--without-mingle", "--loglevel", "INFO"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT,
                            start_new_session=True)
    deadline = time.monotonic() + 120
    while " ready." not in log.read_text(errors="replace"):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the worker did not start:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.2)
    return proc, log


def stop_worker(proc: subprocess.Popen) -> None:
    import signal

    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def squares(user, *, per_class: int = 12, size: int = 16):
    """Return a small 3-class dataset of noisy coloured squares, added through the datasets service."""
    import io

    import numpy as np
    from PIL import Image

    from webapp.datasets.models import Dataset, DatasetClass
    from webapp.datasets.services.store import add_image

    rng = np.random.default_rng(0)
    dataset = Dataset.objects.create(owner=user, name="Bench squares")
    for position, colour in enumerate([(200, 40, 40), (40, 180, 60), (40, 60, 200)]):
        label = DatasetClass.objects.create(dataset=dataset, name=f"class {position}", position=position)
        for i in range(per_class):
            split = "val" if i % 6 == 0 else "test" if i % 6 == 1 else "train"
            pixels = np.clip(np.array(colour) + rng.integers(-40, 40, (size, size, 3)), 0, 255).astype(np.uint8)
            out = io.BytesIO()
            Image.fromarray(pixels).save(out, format="PNG")
            add_image(dataset, out.getvalue(), name=f"{i}.png", label=label, split=split)
    dataset.touch()
    return dataset


def wait_status(run_id: int, statuses, *, timeout: float, interval: float) -> float:
    """Poll until the run has one of `statuses`; return the moment it was seen (perf_counter)."""
    from webapp.runs.models import TrainingRun

    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if TrainingRun.objects.filter(pk=run_id, status__in=statuses).exists():
            return time.perf_counter()
        time.sleep(interval)
    raise TimeoutError(f"run {run_id} did not reach {statuses} in {timeout} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--launches", type=int, default=15)
    parser.add_argument("--json", help="also save the numbers here")
    args = parser.parse_args()
    data_dir = start_django("lux-bench-launch-")
    from django.contrib.auth import get_user_model

    from webapp.runs.forms import LaunchForm
    from webapp.runs.services.control import cancel_run

    user = get_user_model().objects.create_user("bench", password="not-used-for-login-42")
    dataset = squares(user)
    data = {"dataset": dataset.pk, "arch": "custom", "image_size": 16, "epochs": 1000, "batch_size": 8}
    worker, log = start_worker(data_dir)
    latencies = []
    try:
        for i in range(args.launches + 1):  # the first launch warms the worker's child process up
            form = LaunchForm(data=data, user=user)
            assert form.is_valid(), form.errors
            start = time.perf_counter()
            run = form.launch()
            seen = wait_status(run.pk, ["running", "failed"], timeout=60, interval=0.005)
            if i:
                latencies.append(seen - start)
            cancel_run(run)
            wait_status(run.pk, ["cancelled", "failed", "succeeded"], timeout=60, interval=0.05)
            time.sleep(0.3)  # the worker is idle again, polling its queue
    finally:
        stop_worker(worker)
    median = statistics.median(latencies)
    result = {
        "benchmark": "launch_latency", "machine": machine(),
        "config": {"launches": args.launches, "broker": "filesystem (embedded default)", "database": "sqlite",
                   "worker": "celery -Q gpu -c 1 (prefork)", "run": data},
        "median_s": round(median, 3), "min_s": round(min(latencies), 3), "max_s": round(max(latencies), 3),
        "p90_s": round(sorted(latencies)[int(0.9 * (len(latencies) - 1))], 3),
        "target_median_s": 1.0, "ratio_target_over_median": round(1.0 / median, 2),
    }
    print(json.dumps(result, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps({**result, "latencies_s": latencies}, indent=1))


if __name__ == "__main__":
    main()
