"""Data-check jobs: a thin adapter around worker.py (the queue is chosen per check when it is sent)."""

import socket

from celery import shared_task

from webapp.celery import DEFAULT_QUEUE
from webapp.datachecks.services.reaper import CHECK_TASK


@shared_task(name=CHECK_TASK, bind=True, queue=DEFAULT_QUEUE)
def run_check(self, check_id: int) -> str:
    """Run one data check (see worker.run_check)."""
    from webapp.datachecks.worker import run_check

    return run_check(check_id, worker=self.request.hostname or socket.gethostname(), token=self.request.id)
