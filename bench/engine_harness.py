"""Shared pieces of the training-engine benchmarks: the machine, the data, interleaved timing."""

from __future__ import annotations

import io
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from training.data import DataSource, ImageRecord, stratified_split  # noqa: E402


def machine() -> str:
    """Return one line describing this machine, torch, and how busy the CPUs are."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return (f"{cpu}; {os.cpu_count()} CPUs, torch {torch.__version__} with {torch.get_num_threads()} threads; "
            f"{gpu}; load average {load}")


def print_header(claim: str, config: dict) -> None:
    """Print the claim under test, the machine and the exact configuration."""
    print(f"claim:   {claim}")
    print(f"machine: {machine()}")
    print(f"config:  {json.dumps(config, sort_keys=True)}")
    sys.stdout.flush()


def save_json(path: str | os.PathLike | None, payload: dict) -> None:
    """Write the benchmark's numbers and config as JSON, if a path was given."""
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps({"machine": machine(), **payload}, indent=1))
        print(f"saved:   {path}")


def digits_source(*, size: int = 8, seed: int = 0, ratios=(0.8, 0.0, 0.2)) -> DataSource:
    """Return scikit-learn's 1,797 digits as 8x8 grayscale PNGs in memory, split stratified and seeded."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    pixels = np.round(digits.images * (255 / 16)).astype(np.uint8)  # (1797, 8, 8), 0..16 -> 0..255
    splits = stratified_split(digits.target.tolist(), ratios=ratios, seed=seed)
    blobs = []
    for image in pixels:
        buffer = io.BytesIO()
        Image.fromarray(image, "L").save(buffer, format="PNG")
        blobs.append(buffer.getvalue())
    records = [ImageRecord(source=lambda b=b: io.BytesIO(b), label=int(t), split=s)
               for b, t, s in zip(blobs, digits.target, splits, strict=True)]
    return DataSource(records=records, class_names=[str(d) for d in range(10)],
                      key=f"sklearn-digits-png-v1-{ratios}-{seed}")


def interleaved(contenders: dict[str, Callable[[], float]], *, rounds: int) -> dict[str, list[float]]:
    """Run each contender once per round, alternating the order each round; return each one's results."""
    names = list(contenders)
    results: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        for name in names if r % 2 == 0 else reversed(names):
            results[name].append(contenders[name]())
        print(f"  round {r + 1}/{rounds}: " + ", ".join(f"{n} {results[n][-1]:.4g}" for n in names), flush=True)
    return results


def ratio_report(label: str, faster: list[float], slower: list[float], *, higher_is_better: bool) -> dict:
    """Print and return best-of-N and median ratios of two series (ratio > 1: `faster` is ahead)."""
    best_a = max(faster) if higher_is_better else min(faster)
    best_b = max(slower) if higher_is_better else min(slower)
    med_a, med_b = statistics.median(faster), statistics.median(slower)
    best = best_a / best_b if higher_is_better else best_b / best_a
    median = med_a / med_b if higher_is_better else med_b / med_a
    # Per-round ratios cancel slow drifts in machine load, which the shared machine has plenty of.
    paired = statistics.median([(a / b if higher_is_better else b / a) for a, b in zip(faster, slower, strict=True)])
    print(f"{label}: best-of-{len(faster)} {best:.3f}, median {median:.3f}, median of per-round ratios {paired:.3f}")
    return {"best_of_n": best, "median": median, "paired_median": paired, "a": faster, "b": slower}


class Timer:
    """Measure wall time of a block: `with Timer() as t: ...; t.seconds`."""

    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start
