"""The interactive queue: quick tests and explanations, answered by a worker of their own that never trains.

A person waits on these, so they never queue behind a training run, and a web request waits for one only
briefly (LUX_QUICK_WAIT_SECONDS, default 5 s) before it answers 202 with a URL to poll: however slow the
worker, a web server thread is never held for longer than that.
"""

from __future__ import annotations

from django.conf import settings

from webapp.celery import INTERACTIVE_QUEUE
from webapp.core.models import Worker

MIN_WAIT_S = 0.01  # Celery reads a timeout of 0 as "wait forever"
NO_WORKER = ("No worker serves the interactive queue, so nothing can answer quick tests or explanations: start "
             "one (`make run` does, and so does `make worker QUEUES=interactive CONCURRENCY=1`; see the README).")


def wait_s() -> float:
    """Return how long a web request waits for the interactive worker before answering 202."""
    return max(float(settings.LUX_QUICK_WAIT_SECONDS), MIN_WAIT_S)


def worker_alive(queue: str = INTERACTIVE_QUEUE) -> bool:
    """Return whether a worker consuming `queue` wrote its heartbeat recently."""
    return any(queue in row.split(",") for row in Worker.objects.alive().values_list("queues", flat=True))
