"""Celery tasks of labelling: thin adapters over worker.py."""

import socket

from celery import shared_task

from webapp.celery import GPU_QUEUE


@shared_task(name="labelling.prelabel", bind=True, queue=GPU_QUEUE)
def prelabel(self, job_id: int) -> str:
    """Run a pre-label job to its end."""
    from webapp.labelling.worker import execute_prelabel

    return execute_prelabel(job_id, worker=self.request.hostname or socket.gethostname(), token=self.request.id)
