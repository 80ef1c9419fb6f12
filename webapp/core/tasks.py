"""Tasks that exercise the plumbing itself."""

import os
import socket

from celery import shared_task

from webapp.core import heartbeat  # noqa: F401  (connects the worker heartbeat signals)


@shared_task(name="core.ping")
def ping(message: str = "pong") -> dict:
    """Answer with the message and where it ran, proving a round trip through broker and worker."""
    return {"message": message, "host": socket.gethostname(), "pid": os.getpid()}
