"""Quick test, the worker's side: a few staged images through the cached model, answered at once.

It runs on the interactive queue's worker, which never trains: its model cache (services/loader.py, one per
process) holds the models people test, not the one a run is training.
"""

from __future__ import annotations

import base64
import time
from datetime import timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.utils import timezone

from webapp.classify.services import refs

UNREAD_KEPT = timedelta(hours=1)  # an answer nobody polled for is deleted after this: it holds image previews
SWEEP_EVERY_S = 60.0
_last_sweep = -SWEEP_EVERY_S


def quick_threads() -> int:
    """Return the intra-op threads a quick test runs its model with (LUX_QUICK_TEST_THREADS, default 1).

    A batch of one image gains little from intra-op threads and loses a lot when the cores are shared:
    resnet18 at 224 px answered in 48 ms with one thread and 255 ms with two on this 2-core machine at a
    load average of 4.5 (bench/quick_test_latency.py has the end-to-end numbers).
    """
    return int(getattr(settings, "LUX_QUICK_TEST_THREADS", 1))


def run_quick(source_dict: dict, staged: list[str], names: list[str], k: int) -> dict:
    """Classify staged files with the cached model; return top-k and a preview of each (the task body)."""
    try:
        return _classify(source_dict, staged, names, k)
    finally:
        for name in staged:  # the worker deletes them: the web side may have stopped waiting
            default_storage.delete(name)


def _classify(source_dict: dict, staged: list[str], names: list[str], k: int) -> dict:
    from webapp.classify.services import loader
    from webapp.classify.services.decode import as_seen, decode, error_text
    from webapp.classify.services.pipeline import answer, prepare, torch_threads
    from webapp.datasets.services.store import image_limits

    started = time.perf_counter()
    source = refs.ModelSource.from_dict(source_dict)
    loaded, hit = loader.get_model(source)
    load_s = time.perf_counter() - started
    images, pixels, slots = [], [], []
    for name, display in zip(staged, names, strict=True):
        entry = {"name": display, "top": [], "preview": None, "error": None}
        images.append(entry)
        try:
            with default_storage.open(name, "rb") as handle:
                pixels.append(decode(handle.read(), loaded.resize_size, limits=image_limits()).pixels)
            slots.append(entry)
        except Exception as error:
            entry["error"] = error_text(error)
    decode_s = time.perf_counter() - started - load_s
    if pixels:
        x = prepare(loaded.preset, pixels, device=loaded.device, channels_last=loaded.channels_last)
        with torch_threads(quick_threads() if loaded.device.type == "cpu" else None):
            probabilities, indices, _ = answer(loaded.model, x, k=k)
        for row, entry in enumerate(slots):
            entry["top"] = [{"index": int(i), "name": loaded.class_names[int(i)], "probability": float(p)}
                            for p, i in zip(probabilities[row], indices[row], strict=True)]
            entry["preview"] = _png_data_url(as_seen(x[row], loaded.preset.mean, loaded.preset.std))
    total = time.perf_counter() - started
    forget_unread()
    return {
        "model": {"ref": source.ref, "label": source.label, "arch": loaded.arch, "classes": len(loaded.class_names),
                  "image_size": loaded.preset.size, "preset": loaded.preset.to_dict()},
        "device": str(loaded.device),
        "cache": {"hit": hit, "loads": loader.LOADS},
        "seconds": {"load": round(load_s, 4), "decode": round(decode_s, 4),
                    "model": round(total - load_s - decode_s, 4), "worker": round(total, 4)},
        "images": images,
    }


def forget_unread() -> None:
    """Delete quick-test answers nobody polled for within UNREAD_KEPT (looked for at most once a minute)."""
    global _last_sweep
    from django_celery_results.models import TaskResult

    from webapp.classify.services.quick import TASK_NAME

    if time.monotonic() - _last_sweep < SWEEP_EVERY_S:
        return
    _last_sweep = time.monotonic()
    TaskResult.objects.filter(task_name=TASK_NAME, date_created__lt=timezone.now() - UNREAD_KEPT).delete()


def _png_data_url(image) -> str:
    from classifier.explain import png_bytes

    return "data:image/png;base64," + base64.b64encode(png_bytes(image)).decode("ascii")
