"""Quick test latency through the real worker: one photo in, top-5 out, as the page's request sees it.

Claim (issue 6): p50 under 300 ms for resnet18 at 224 px on this CPU, the first call (which loads the
weights into the worker's cache) excluded. Each call is a full POST /classify/quick/: the web side stores
the photo, sends the task to the gpu queue (the embedded filesystem broker, polled every 50 ms), waits on
the result (polling every 20 ms) and answers JSON; the worker decodes, preprocesses and runs the cached model.

    .venv/bin/python bench/quick_test_latency.py [--calls 30] [--photo 1024x768] [--json out.json]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _setup import ROOT, start_django
from engine_harness import machine, save_json

CLAIM = "quick test p50 < 300 ms for resnet18 at 224 px through the worker (first call excluded)"


def photo(width: int, height: int) -> bytes:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    base = rng.normal(128, 50, (height // 16, width // 16, 3)).clip(0, 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(base).resize((width, height), Image.Resampling.BICUBIC).save(out, "JPEG", quality=88)
    return out.getvalue()


def saved_resnet(owner):
    """Return a succeeded run whose weights are a (random) resnet18 for 10 classes at 224 px."""
    import torch
    from django.conf import settings

    from classifier.factory import create_model
    from classifier.presets import EvalPreset
    from classifier.weights import ModelCard, save_model
    from webapp.datasets.models import Dataset, DatasetVersion
    from webapp.runs.models import ModelArtifact, TrainingRun

    names = [f"class {i}" for i in range(10)]
    dataset = Dataset.objects.create(owner=owner, name="bench")
    version = DatasetVersion.objects.create(dataset=dataset, number=1, revision=0, class_names=names,
                                            counts={}, content_hash="bench")
    run = TrainingRun.objects.create(owner=owner, version=version, arch="resnet18", config={}, status="succeeded")
    torch.manual_seed(0)
    path = Path(settings.MEDIA_ROOT) / "runs" / str(run.pk) / "model.safetensors"
    save_model(path, create_model("resnet18", num_classes=10),
               ModelCard(arch="resnet18", num_classes=10, class_names=names, image_size=224,
                         preset=EvalPreset(size=224).to_dict()))
    ModelArtifact.objects.create(run=run, kind="weights", path=f"runs/{run.pk}/model.safetensors")
    return run


def start_worker(data_dir: Path) -> subprocess.Popen:
    log = open(data_dir / "worker.log", "w")
    worker = subprocess.Popen([sys.executable, "-m", "celery", "-A", "webapp", "worker", "-Q", "default,gpu", "-c", "1",
                               "-n", "bench@%h", "--without-gossip", "--without-mingle", "--loglevel", "WARNING"],
                              cwd=ROOT, env=dict(os.environ), stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    return worker


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=30)
    parser.add_argument("--photo", default="1024x768")
    parser.add_argument("--json")
    args = parser.parse_args()
    data_dir = start_django("lux-bench-quick-")
    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client

    owner = get_user_model().objects.create_user("bench", password="bench-only-password")
    run = saved_resnet(owner)
    width, height = (int(v) for v in args.photo.lower().split("x"))
    image = photo(width, height)
    config = {"arch": "resnet18", "image_size": 224, "photo": args.photo, "calls": args.calls,
              "broker": "filesystem (embedded default)", "result_poll_s": 0.02}
    print(f"claim:   {CLAIM}\nmachine: {machine()}\nconfig:  {config}", flush=True)
    worker = start_worker(data_dir)
    client = Client()
    client.force_login(owner)
    timings, worker_side, hits = [], [], []
    try:
        for call in range(args.calls + 1):
            start = time.perf_counter()
            response = client.post("/classify/quick/", {"model": f"run:{run.pk}",
                                                        "images": [SimpleUploadedFile("photo.jpg", image)]},
                                   HTTP_ACCEPT="application/json")
            elapsed = time.perf_counter() - start
            answer = response.json()
            if response.status_code != 200:
                raise SystemExit(f"call {call} failed: {answer}\n{(data_dir / 'worker.log').read_text()[-3000:]}")
            if call == 0:
                print(f"first call (loads the weights): {elapsed * 1000:.0f} ms", flush=True)
                continue
            timings.append(elapsed)
            worker_side.append(answer["seconds"])
            hits.append(answer["cache"]["hit"])
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    ms = [t * 1000 for t in timings]
    p50, p95 = statistics.median(ms), percentile(ms, 0.95)
    breakdown = {key: round(statistics.median(s[key] for s in worker_side) * 1000, 1)
                 for key in ("decode", "model", "worker")}
    print(f"round trip over {len(ms)} calls: p50 {p50:.0f} ms, p95 {p95:.0f} ms, min {min(ms):.0f} ms")
    print(f"worker side (median ms): {breakdown}; model cache hits {sum(hits)}/{len(hits)}")
    print(f"claim {'met' if p50 < 300 else 'NOT met'}: p50 {p50:.0f} ms (target < 300 ms)")
    save_json(args.json, {"claim": CLAIM, "config": config, "round_trip_ms": ms, "p50_ms": p50, "p95_ms": p95,
                          "worker_median_ms": breakdown, "cache_hits": sum(hits)})


if __name__ == "__main__":
    main()
