"""Quick test latency: the model alone against the whole round trip, idle and while a run trains.

Claim (issue 11): the quick test's round trip (POST /api/classify/predict/ over loopback HTTP to gunicorn, the
task on the interactive queue, its worker's cached model, the answer back) has a p50 of at most 1.5x the
model-only forward of the same image with the machine idle; and no request fails while a run trains.

In one run, with the web server and workers started as `make run` starts them (bench/_live.py):
- model only: the same decoded, preprocessed image through the same loaded model (webapp.classify.services
  .loader, pipeline.answer) with the quick test's thread count, in this process;
- round trip: the real request, timed until its answer (a 202 is polled until the answer comes, and counts
  in the time);
interleaved round by round, first with nothing else running, then while the gpu worker trains a run.
Where the round trip goes is printed too: "staged → answer" is the web thread's wait from the staged upload
to the answer (the queue hop both ways plus the worker), "worker side" the task itself (decode, model,
preview); the rest of the round trip is HTTP, authentication, the upload's parsing and staging. "Floor" is
the same request naming a model that does not exist: gunicorn, Django, the token's check, the upload's parsing
and the model's lookup, answered 404 before anything is staged or queued. Model-only plus the floor over
model-only is the least ratio a quick test answered over HTTP by this web stack could reach on this machine,
whatever the queue and the worker do.

    .venv/bin/python bench/quick_test_latency.py [--arch resnet18] [--size 48] [--calls 40] [--json out.json]
                                                 [--redis redis://127.0.0.1:6379/14]  (a Redis broker; emptied)
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _live  # noqa: E402
from _setup import machine, start_django  # noqa: E402

PREDICT = "/api/classify/predict/"
NO_SUCH_RUN = 10 ** 12  # a run id no bench creates
CLAIM = "quick test round trip p50 <= 1.5x the model-only forward (idle); no request fails while a run trains"


def photo(width: int, height: int) -> bytes:
    import io

    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    base = rng.normal(128, 50, (height // 16, width // 16, 3)).clip(0, 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(base).resize((width, height), Image.Resampling.BICUBIC).save(out, "JPEG", quality=88)
    return out.getvalue()


def saved_model(owner, arch: str, size: int):
    """Return a succeeded run whose weights are a (random) `arch` for 10 classes at `size` px."""
    import torch
    from django.conf import settings

    from classifier.factory import create_model
    from classifier.presets import EvalPreset
    from classifier.weights import ModelCard, save_model
    from webapp.datasets.models import Dataset, DatasetVersion
    from webapp.runs.models import ModelArtifact, TrainingRun

    names = [f"class {i}" for i in range(10)]
    dataset = Dataset.objects.create(owner=owner, name="bench model")
    version = DatasetVersion.objects.create(dataset=dataset, number=1, revision=0, class_names=names,
                                            counts={}, content_hash="bench")
    run = TrainingRun.objects.create(owner=owner, version=version, arch=arch, config={}, status="succeeded")
    torch.manual_seed(0)
    path = Path(settings.MEDIA_ROOT) / "runs" / str(run.pk) / "model.safetensors"
    save_model(path, create_model(arch, num_classes=10, image_size=size),
               ModelCard(arch=arch, num_classes=10, class_names=names, image_size=size,
                         preset=EvalPreset(size=size).to_dict()))
    ModelArtifact.objects.create(run=run, kind="weights", path=f"runs/{run.pk}/model.safetensors")
    return run


class ModelOnly:
    """The worker's model path in this process: load once, decode and preprocess once, then time forwards."""

    def __init__(self, owner, run, image: bytes):
        from webapp.classify.services import loader, refs
        from webapp.classify.services.decode import decode
        from webapp.classify.services.pipeline import prepare
        from webapp.datasets.services.store import image_limits

        self.loaded, _ = loader.get_model(refs.resolve(owner, f"run:{run.pk}"))
        pixels = decode(image, self.loaded.resize_size, limits=image_limits()).pixels
        self.x = prepare(self.loaded.preset, [pixels], device=self.loaded.device,
                         channels_last=self.loaded.channels_last)  # (1, 3, size, size)

    def __call__(self) -> float:
        from webapp.classify.services.pipeline import answer, torch_threads
        from webapp.classify.worker.quick import quick_threads

        start = time.perf_counter()
        with torch_threads(quick_threads()):
            answer(self.loaded.model, self.x, k=5)
        return time.perf_counter() - start


def predict_request(run_id: int, image: bytes) -> tuple[bytes, dict]:
    """Return the body and headers of the quick test of `image` with run `run_id`'s model (built before timing)."""
    body, content_type = _live.multipart({"model": f"run:{run_id}", "top_k": "5"}, {"image": ("photo.jpg", image)})
    return body, {"Content-Type": content_type}


def round_trip(browser: _live.Browser, run_id: int, image: bytes) -> tuple[float, int, dict]:
    """Return (seconds until the answer, status of the first answer, the worker's timings); status 0: none."""
    body, headers = predict_request(run_id, image)
    start = time.perf_counter()
    status, payload = browser.request("POST", PREDICT, body, headers)
    first = status
    while status == 202:  # the web thread let go after its wait: poll as the page does
        url = json.loads(payload)["status_url"]
        time.sleep(0.05)
        status, payload = browser.request("GET", url)
    seconds = json.loads(payload).get("seconds", {}) if status == 200 else {}
    return time.perf_counter() - start, first if status == 200 else status, seconds


def floor(browser: _live.Browser, image: bytes) -> float:
    """Return the seconds of the same upload naming a model that does not exist (it must answer 404)."""
    body, headers = predict_request(NO_SUCH_RUN, image)
    start = time.perf_counter()
    status, payload = browser.request("POST", PREDICT, body, headers)
    seconds = time.perf_counter() - start
    if status != 404:
        raise RuntimeError(f"the floor request answered {status}, not 404: {payload[:200]!r}")
    return seconds


def measure(model_only: ModelOnly, browser, run_id: int, image: bytes, *, rounds: int, calls: int) -> dict:
    """Interleave rounds of model-only forwards, floor requests and round trips (rotating which goes first)."""
    model, trips, statuses, worker, waited, floors = [], [], [], [], [], []
    for r in range(rounds):
        def models():
            model.extend(model_only() for _ in range(calls))

        def floor_requests():
            floors.extend(floor(browser, image) for _ in range(calls))

        def requests():
            for _ in range(calls):
                seconds, status, timings = round_trip(browser, run_id, image)
                statuses.append(status)
                if status in (200, 202):
                    trips.append(seconds)
                    worker.append(timings.get("worker", float("nan")) * 1000)
                    waited.append(timings.get("round_trip", float("nan")) * 1000)
        steps = [models, floor_requests, requests]
        for step in steps[r % 3:] + steps[:r % 3]:
            step()
    failed = sum(1 for s in statuses if s not in (200, 202))
    return {"model_ms": [t * 1000 for t in model], "round_trip_ms": [t * 1000 for t in trips], "worker_ms": worker,
            "web_wait_ms": waited, "floor_ms": [t * 1000 for t in floors],
            "requests": len(statuses), "failed": failed, "answered_202": statuses.count(202)}


def summary(name: str, values: list[float]) -> dict:
    p50, p95 = statistics.median(values), _live.percentile(values, 0.95)
    print(f"  {name:<22} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms   (n={len(values)})")
    return {"p50_ms": round(p50, 2), "p95_ms": round(p95, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", default="resnet18")
    parser.add_argument("--size", type=int, default=48)
    parser.add_argument("--photo", default="640x480")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--calls", type=int, default=5, help="calls of each kind per round")
    parser.add_argument("--train-arch", default="custom", help="the run that trains meanwhile (32 px, batch 32)")
    parser.add_argument("--redis", help="broker on this Redis URL (its database is emptied) instead of the filesystem")
    parser.add_argument("--json")
    args = parser.parse_args()
    if args.redis:
        import redis

        redis.Redis.from_url(args.redis).flushdb()
    data_dir = start_django("lux-bench-quick-", redis_url=args.redis)
    from django.contrib.auth import get_user_model

    from webapp.runs.services.control import cancel_run

    owner = get_user_model().objects.create_user("bench", password="bench-only-password-1")
    run = saved_model(owner, args.arch, args.size)
    width, height = (int(v) for v in args.photo.lower().split("x"))
    image = photo(width, height)
    config = {"arch": args.arch, "size": args.size, "photo": args.photo, "rounds": args.rounds,
              "calls_per_round": args.calls, "training": f"{args.train_arch} at 32 px, batch 32, cpu, 540 images",
              "broker": f"redis ({args.redis})" if args.redis else "filesystem (embedded default)",
              "database": "sqlite"}
    print(f"claim:   {CLAIM}\nmachine: {machine()}\nconfig:  {config}", flush=True)
    dataset = _live.squares(owner, per_class=200, size=32)
    port = _live.free_port()
    children = []
    try:
        children.append(_live.start("web", data_dir, port=port))
        children.append(_live.start("worker-interactive", data_dir, port=port))
        model_only = ModelOnly(owner, run, image)
        browser = _live.Browser(port, {"Authorization": f"Token {_live.api_token(owner)}"})
        warm, status, _ = round_trip(browser, run.pk, image)  # loads the weights into the worker's cache
        print(f"first call (loads the model): {warm * 1000:.0f} ms, status {status}", flush=True)
        model_only(), model_only()
        results = {"idle": measure(model_only, browser, run.pk, image, rounds=args.rounds, calls=args.calls)}
        children.append(_live.start("worker-gpu", data_dir, port=port))
        training = _live.launch_training(owner, dataset, arch=args.train_arch, image_size=32, batch_size=32)
        _live.wait_training(training.pk)
        results["training"] = measure(model_only, browser, run.pk, image, rounds=args.rounds, calls=args.calls)
        still = _live.training_rate(training.pk, 5.0)
        cancel_run(training)
    finally:
        for child in reversed(children):
            _live.stop(child)
    report = {}
    for phase, found in results.items():
        print(f"{phase}: {found['requests']} requests, {found['failed']} failed, {found['answered_202']} answered 202")
        report[phase] = {"model_only": summary("model only", found["model_ms"]),
                         "round_trip": summary("round trip", found["round_trip_ms"]),
                         "floor": summary("floor (404, no queue)", found["floor_ms"]),
                         "web_wait": summary("staged → answer", found["web_wait_ms"]),
                         "worker": summary("worker side of it", found["worker_ms"]),
                         "failed": found["failed"], "answered_202": found["answered_202"]}
    ratio = report["idle"]["round_trip"]["p50_ms"] / report["idle"]["model_only"]["p50_ms"]
    busy = report["training"]["round_trip"]["p50_ms"] / report["idle"]["model_only"]["p50_ms"]
    print(f"round trip p50 / model-only p50, idle: {ratio:.2f}x (target <= 1.5x); "
          f"while training: {busy:.2f}x; the run still trained at {still:.0f} img/s")
    model_ms, floor_ms = report["idle"]["model_only"]["p50_ms"], report["idle"]["floor"]["p50_ms"]
    print(f"the floor alone: (model-only + floor) / model-only = {(model_ms + floor_ms) / model_ms:.2f}x, idle: "
          f"the least this web stack could reach here; the target leaves {0.5 * model_ms:.1f} ms for all but the "
          f"model, the floor takes {floor_ms:.1f} ms")
    met = ratio <= 1.5 and report["training"]["failed"] == 0
    print(f"claim {'met' if met else 'NOT met'}")
    if args.json:
        Path(args.json).write_text(json.dumps({"claim": CLAIM, "machine": machine(), "config": config,
                                               "report": report, "ratio_idle": ratio, "ratio_training": busy,
                                               "raw": results}, indent=1))


if __name__ == "__main__":
    main()
