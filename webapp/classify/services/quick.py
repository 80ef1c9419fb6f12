"""Quick test: a few images through one model on the worker, answered while the person waits.

The web process stages the files in storage and sends one task to the gpu queue, then waits for its
result for a few seconds (polling every 20 ms). The worker decodes them with the datasets app's checks,
runs them through its cached model and answers top-k classes plus each image as the model saw it
(worker/quick.py).
"""

from __future__ import annotations

import logging
import time
import uuid

from celery.exceptions import TimeoutError as CeleryTimeout
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from webapp.celery import GPU_QUEUE
from webapp.classify.services import refs
from webapp.core.models import Worker
from webapp.datasets.validation import format_bytes

log = logging.getLogger(__name__)
MAX_FILES = 10
POLL_INTERVAL_S = 0.02
QUICK_QUEUE = GPU_QUEUE  # the worker holding the GPU (and the model cache) answers


class QuickTestError(Exception):
    """The quick test could not run; `message` says why, for a person; `status` is the HTTP status."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message = message
        self.status = status


def timeout_s() -> float:
    """Return how long a quick test waits for the worker (LUX_QUICK_TEST_TIMEOUT_S, default 30 s)."""
    return float(getattr(settings, "LUX_QUICK_TEST_TIMEOUT_S", 30))


def quick_test(user, model_ref: str, files: list, *, k: int = 5) -> dict:
    """Classify uploaded files with the model `model_ref` names, on the worker; return its answer."""
    source = refs.resolve(user, model_ref)  # raises UnknownModelRef (a 404) for models the user may not use
    if not files:
        raise QuickTestError("Choose at least one image.")
    if len(files) > MAX_FILES:
        raise QuickTestError(f"A quick test takes at most {MAX_FILES} images; start a batch job for more.")
    limit = settings.LUX_MAX_UPLOAD_BYTES
    for upload in files:
        if upload.size > limit:
            raise QuickTestError(f"{upload.name} is {format_bytes(upload.size)}; the limit is {format_bytes(limit)}.")
    folder = f"classify/quick/{uuid.uuid4().hex}"
    staged = [default_storage.save(f"{folder}/{i}.img", ContentFile(upload.read())) for i, upload in enumerate(files)]
    names = [str(upload.name or f"image {i + 1}")[:200] for i, upload in enumerate(files)]
    started = time.perf_counter()
    try:
        answer = _ask_worker(source, staged, names, k)
    finally:
        for name in staged:
            default_storage.delete(name)
    answer["seconds"] = {**answer.get("seconds", {}), "round_trip": round(time.perf_counter() - started, 4)}
    return answer


def _ask_worker(source: refs.ModelSource, staged: list[str], names: list[str], k: int) -> dict:
    from webapp.classify.tasks import quick_predict

    result = quick_predict.apply_async(args=[source.to_dict(), staged, names, k], queue=QUICK_QUEUE)
    try:
        return result.get(timeout=timeout_s(), interval=POLL_INTERVAL_S, propagate=True)
    except CeleryTimeout:
        result.revoke()  # an answer nobody waits for any more is not worth a worker's time
        raise QuickTestError(_no_answer(), status=503)
    except Exception as error:  # the task raised: say so without a traceback
        log.warning("quick test failed: %s", error)
        raise QuickTestError(f"The worker could not run this model: {error}", status=500)
    finally:
        result.forget()  # the answer holds image previews: do not keep it in the results table


def _no_answer() -> str:
    alive = Worker.objects.alive().filter(queues__contains=GPU_QUEUE).exists()
    if not alive:
        return "No worker is running on the gpu queue, so nothing can classify: start one (see the README)."
    return (f"The worker did not answer within {timeout_s():.0f} s: it is probably busy training or running a "
            "batch job. Try again when it is free.")
