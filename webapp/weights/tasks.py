"""Weights work for the `default` queue: a thin adapter around worker.py."""

import socket

from celery import shared_task

from webapp.celery import DEFAULT_QUEUE
from webapp.weights.services.reaper import FETCH_TASK


@shared_task(name=FETCH_TASK, bind=True, queue=DEFAULT_QUEUE)
def fetch_weights(self, record_id: int) -> str:
    """Download one ImageNet weights file into the torch cache (see worker.fetch)."""
    from webapp.weights.worker import fetch

    return fetch(record_id, worker=self.request.hostname or socket.gethostname(), token=self.request.id)
