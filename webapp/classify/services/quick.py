"""Quick test: a few images through one model on the interactive worker, answered while the person waits.

The web process stages the files in storage and sends one task to the interactive queue, whose worker never
trains, then waits for its result briefly (LUX_QUICK_WAIT_SECONDS, polling every 5 ms: one small query, and
only while a person waits). Most answers come well within that; a slower one (a big model loading, many
people at once) is handed back as a ticket whose status URL the page or API client polls, so no web thread
waits on a worker for longer than the wait.

The ticket is the task's id, prefixed with the requester's user id: only that user may read the answer (anyone
else gets a 404). While it is pending it has a row in Celery's result table (django-celery-results), which
the worker's own result overwrites; the answer holds image previews, so it is deleted once read (and by the
worker an hour after nobody read it: worker/quick.py). The worker deletes the staged files once it has read them.
"""

from __future__ import annotations

import logging
import time
import uuid

from celery import states
from celery.exceptions import TimeoutError as CeleryTimeout
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from django_celery_results.models import TaskResult

from webapp.celery import INTERACTIVE_QUEUE
from webapp.classify.services import interactive, refs
from webapp.datasets.validation import format_bytes

log = logging.getLogger(__name__)
MAX_FILES = 10
POLL_INTERVAL_S = 0.005
QUICK_QUEUE = INTERACTIVE_QUEUE
TASK_NAME = "classify.quick_predict"
STAGING = "classify/quick"
NOT_FOUND = "No such quick test: its answer was already given, or it is not yours."


class QuickTestError(Exception):
    """The quick test could not run; `message` says why, for a person; `status` is the HTTP status."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message = message
        self.status = status


def is_pending(answer: dict) -> bool:
    """Return whether `answer` is a ticket to poll rather than the answer itself."""
    return answer.get("status") == "pending"


def quick_test(user, model_ref: str, files: list, *, k: int = 5) -> dict:
    """Classify uploaded files with the model `model_ref` names; return the answer, or a pending ticket."""
    source = refs.resolve(user, model_ref)  # raises UnknownModelRef (a 404) for models the user may not use
    if not files:
        raise QuickTestError("Choose at least one image.")
    if len(files) > MAX_FILES:
        raise QuickTestError(f"A quick test takes at most {MAX_FILES} images; start a batch job for more.")
    limit = settings.LUX_MAX_UPLOAD_BYTES
    for upload in files:
        if upload.size > limit:
            raise QuickTestError(f"{upload.name} is {format_bytes(upload.size)}; the limit is {format_bytes(limit)}.")
    ticket = f"{user.pk}-{uuid.uuid4().hex}"
    staged = [default_storage.save(f"{STAGING}/{ticket}.{i}.img", ContentFile(upload.read()))
              for i, upload in enumerate(files)]
    names = [str(upload.name or f"image {i + 1}")[:200] for i, upload in enumerate(files)]
    started = time.perf_counter()
    return _ask_worker(ticket, source, staged, names, k, started)


def quick_answer(user, ticket: str) -> dict:
    """Return the answer of a quick test that outlived its wait, or its pending ticket (404 if not the user's)."""
    if not ticket.startswith(f"{user.pk}-"):
        raise QuickTestError(NOT_FOUND, status=404)
    row = TaskResult.objects.filter(task_id=ticket, task_name=TASK_NAME).values("status", "date_created").first()
    if row is None:
        raise QuickTestError(NOT_FOUND, status=404)
    if row["status"] not in states.READY_STATES:
        if row["status"] == states.PENDING and not interactive.worker_alive(QUICK_QUEUE):
            _abandon(ticket)
            raise QuickTestError(interactive.NO_WORKER, status=503)
        return _pending(ticket)
    from webapp.classify.tasks import quick_predict

    result = quick_predict.AsyncResult(ticket)
    try:
        if result.state == states.SUCCESS:
            answer = result.result
            round_trip = (timezone.now() - row["date_created"]).total_seconds()
            answer["seconds"] = {**answer.get("seconds", {}), "round_trip": round(round_trip, 4)}
            return answer
        if result.state == states.REVOKED:
            raise QuickTestError("The quick test was cancelled before the worker ran it; try again.", status=503)
        raise _failed(result.result)
    finally:
        _forget(ticket)


def _ask_worker(ticket: str, source: refs.ModelSource, staged: list[str], names: list[str], k: int,
                started: float) -> dict:
    from webapp.classify.tasks import quick_predict

    # Issued before the task is sent, so the worker's result overwrites it and a poll can tell "not yet" from "no such".
    TaskResult.objects.create(task_id=ticket, task_name=TASK_NAME, status=states.PENDING)
    try:
        result = quick_predict.apply_async(args=[source.to_dict(), staged, names, k], task_id=ticket,
                                           queue=QUICK_QUEUE)
        answer = result.get(timeout=interactive.wait_s(), interval=POLL_INTERVAL_S, propagate=True)
    except CeleryTimeout:
        if interactive.worker_alive(QUICK_QUEUE):
            return _pending(ticket)  # the page polls; this web thread is free for others
        result.revoke()  # nothing will run it: do not let a worker that starts later find it
        _abandon(ticket)
        raise QuickTestError(interactive.NO_WORKER, status=503)
    except Exception as error:  # the task raised: say so without a traceback
        _forget(ticket)
        raise _failed(error)
    _forget(ticket)
    answer["seconds"] = {**answer.get("seconds", {}), "round_trip": round(time.perf_counter() - started, 4)}
    return answer


def _pending(ticket: str) -> dict:
    return {"status": "pending", "ticket": ticket,
            "detail": "The worker is still on it: poll the status URL for the answer."}


def _failed(error) -> QuickTestError:
    log.warning("quick test failed: %s", error)
    return QuickTestError(f"The worker could not run this model: {error}", status=500)


def _forget(ticket: str) -> None:
    """Delete the ticket's row: the answer holds image previews, and it has been given."""
    TaskResult.objects.filter(task_id=ticket).delete()


def _abandon(ticket: str) -> None:
    """Forget a ticket no worker will answer and delete its staged files."""
    _forget(ticket)
    try:
        _, files = default_storage.listdir(STAGING)
    except FileNotFoundError:
        return
    for name in files:
        if name.startswith(f"{ticket}."):
            default_storage.delete(f"{STAGING}/{name}")
