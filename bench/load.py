"""Load: signed-in people browsing dataset and run pages and polling a live run while that run trains.

Claim (issue 11): with 50 signed-in users and a 2 s think time, 0 errors, page p95 < 500 ms, and the run
trains at >= 0.7 of its idle speed meanwhile.

On loopback only, bounded in users (at most 200) and time (--seconds, at most 600): the web server and workers
start as `make run` starts them (bench/_live.py: same gunicorn workers and threads, same queues and process
priorities) on a throwaway SQLite database and filesystem broker. A run of --arch trains throughout. Its
speed (training images per second, from its own progress) is measured in windows of --phase-seconds with
nobody browsing, then during the load, then idle again; the ratio is load / mean(idle before, idle after).
With --gpu-nice 0,10 the gpu worker's CPU priority alternates window by window (idle and under load), so both
levels are compared under the same background load of a shared machine.

Each user has a session of their own and loops: GET one page (the dataset list, the dataset's image browser,
the run list or the live run's page, each the HTML only) or the live run's status JSON (as its page polls it),
half and half, then thinks 2 s (+-10%). An error is any answer other than 200, or no answer.

    .venv/bin/python bench/load.py [--users 50] [--seconds 60] [--phase-seconds 15] [--gpu-nice 0,10]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _live  # noqa: E402
from _setup import machine, start_django  # noqa: E402

CLAIM = "50 users, 2 s think time, a run training: 0 errors, page p95 < 500 ms, training >= 0.7 of idle"
MAX_USERS, MAX_SECONDS = 200, 600


def browse(port: int, cookie: str, pages: list[str], status_url: str, *, until: float, think_s: float,
           seed: int, found: list, lock: threading.Lock) -> None:
    """One user's loop until `until` (time.monotonic()): a page or a status poll, then think."""
    rng = random.Random(seed)
    browser = _live.Browser(port, {"Cookie": cookie}, timeout=30)
    time.sleep(rng.uniform(0, think_s))  # people do not all arrive in the same instant
    while time.monotonic() < until:
        is_page = rng.random() < 0.5
        path = rng.choice(pages) if is_page else status_url
        began, start = time.monotonic(), time.perf_counter()
        status, _ = browser.request("GET", path)
        with lock:
            found.append((began, "page" if is_page else "status", (time.perf_counter() - start) * 1000, status, path))
        time.sleep(think_s * rng.uniform(0.9, 1.1))


def set_nice(child: _live.Child, level: int | None) -> None:
    """Give the gpu worker (its whole process group) CPU priority `level`; None keeps what it started with."""
    if level is not None:
        os.setpriority(os.PRIO_PGRP, child.proc.pid, level)  # lowering it again needs root (CAP_SYS_NICE)


def idle_rates(gpu, run_id: int, levels: list, seconds: float) -> dict:
    rates = {}
    for level in levels:
        set_nice(gpu, level)
        rates[level] = _live.training_rate(run_id, seconds)
        print(f"  idle, gpu worker nice {_nice(level)}: {rates[level]:.1f} img/s", flush=True)
    return rates


def _nice(level) -> str:
    return "as started" if level is None else str(level)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--phase-seconds", type=float, default=15, help="one training-speed window")
    parser.add_argument("--think", type=float, default=2.0)
    parser.add_argument("--arch", default="custom", help="the run that trains (32 px, batch 32)")
    parser.add_argument("--gpu-nice", default="", help="e.g. 0,10: alternate the gpu worker's CPU priority "
                        "phase by phase, to compare them under the same background load (needs root to lower it)")
    parser.add_argument("--json")
    args = parser.parse_args()
    users, seconds = min(args.users, MAX_USERS), min(args.seconds, MAX_SECONDS)
    levels = [int(v) for v in args.gpu_nice.split(",") if v.strip()] or [None]
    data_dir = start_django("lux-bench-load-")
    from django.contrib.auth import get_user_model
    from django.urls import reverse

    from webapp.run import commands
    from webapp.runs.services.control import cancel_run

    owner = get_user_model().objects.create_user("bench", password="bench-only-password-1")
    dataset = _live.squares(owner, per_class=200, size=32)
    config = {"users": users, "seconds": seconds, "phase_seconds": args.phase_seconds, "think_s": args.think,
              "training": f"{args.arch} at 32 px, batch 32, cpu, 540 training images",
              "web": " ".join(commands(_live.HOST, 0, 2)["web"][2:]),
              "gpu_worker": " ".join(commands(_live.HOST, 0, 2)["worker-gpu"]).replace(sys.executable, "python"),
              "gpu_nice_levels": [_nice(level) for level in levels],
              "database": "sqlite", "broker": "filesystem (embedded default)"}
    print(f"claim:   {CLAIM}\nmachine: {machine()}\nconfig:  {config}", flush=True)
    port = _live.free_port()
    children, found, phases = [], [], []
    try:
        for name in ("web", "worker-gpu", "worker-interactive", "worker-default"):
            children.append(_live.start(name, data_dir, port=port))
        gpu = children[1]
        run = _live.launch_training(owner, dataset, arch=args.arch, image_size=32, batch_size=32)
        _live.wait_training(run.pk)
        pages = [reverse("dataset_list"), reverse("dataset_browse", args=[dataset.pk]), reverse("run_list"),
                 reverse("run_detail", args=[run.pk])]
        status_url = reverse("run_status", args=[run.pk])
        idle = [idle_rates(gpu, run.pk, levels, args.phase_seconds)]
        cookies = [_live.session_cookie(owner) for _ in range(users)]
        lock = threading.Lock()
        until = time.monotonic() + seconds
        threads = [threading.Thread(target=browse, args=(port, cookie, pages, status_url),
                                    kwargs={"until": until, "think_s": args.think, "seed": i, "found": found,
                                            "lock": lock}, daemon=True)
                   for i, cookie in enumerate(cookies)]
        for thread in threads:
            thread.start()
        time.sleep(min(5.0, seconds / 4))  # everyone has arrived
        while until - time.monotonic() > args.phase_seconds + 1:
            level = levels[len(phases) % len(levels)]
            set_nice(gpu, level)
            began = time.monotonic()
            rate = _live.training_rate(run.pk, args.phase_seconds)
            phases.append((level, began, time.monotonic(), rate))
            print(f"  under load, gpu worker nice {_nice(level)}: {rate:.1f} img/s", flush=True)
        for thread in threads:
            thread.join(timeout=60)
        idle.append(idle_rates(gpu, run.pk, list(reversed(levels)), args.phase_seconds))
        cancel_run(run)
    finally:
        for child in reversed(children):
            _live.stop(child)
    errors = [f"{status} {path}" for _, _, _, status, path in found if status != 200]
    report = {"requests": len(found), "errors": len(errors), "error_examples": errors[:5], "by_gpu_nice": {}}
    for level in levels:
        windows = [(a, b) for lv, a, b, _ in phases if lv == level]
        inside = [r for r in found if any(a <= r[0] < b for a, b in windows)]
        page_ms = [ms for _, kind, ms, _, _ in inside if kind == "page"]
        status_ms = [ms for _, kind, ms, _, _ in inside if kind == "status"]
        idle_mean = statistics.mean(rates[level] for rates in idle)
        loaded = statistics.mean(rate for lv, _, _, rate in phases if lv == level)
        report["by_gpu_nice"][_nice(level)] = {
            "page_p50_ms": round(statistics.median(page_ms), 1),
            "page_p95_ms": round(_live.percentile(page_ms, 0.95), 1),
            "status_p50_ms": round(statistics.median(status_ms), 1),
            "status_p95_ms": round(_live.percentile(status_ms, 0.95), 1),
            "errors": sum(1 for r in inside if r[3] != 200),
            "training_img_per_s": {"idle": round(idle_mean, 1), "load": round(loaded, 1)},
            "training_ratio": round(loaded / idle_mean, 3)}
    print(json.dumps(report, indent=2))
    print(f"{len(found)} requests in {seconds:g} s ({len(found) / seconds:.1f}/s), {len(errors)} errors")
    for name, row in report["by_gpu_nice"].items():
        met = not errors and row["page_p95_ms"] < 500 and row["training_ratio"] >= 0.7
        print(f"gpu worker nice {name}: pages p50 {row['page_p50_ms']} ms, p95 {row['page_p95_ms']} ms; training "
              f"under load / idle {row['training_ratio']:.2f} -> claim {'met' if met else 'NOT met'}")
    if args.json:
        Path(args.json).write_text(json.dumps({"claim": CLAIM, "machine": machine(), "config": config,
                                               "report": report, "phases": phases}, indent=1))


if __name__ == "__main__":
    main()
