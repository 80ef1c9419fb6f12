"""Dataset work for the `default` queue: thin adapters around worker.py."""

import socket

from celery import shared_task

from webapp.celery import DEFAULT_QUEUE
from webapp.datasets.services.archive_import import IMPORT_TASK


@shared_task(name=IMPORT_TASK, bind=True, queue=DEFAULT_QUEUE)
def import_archive(self, import_id: int) -> str:
    """Import one uploaded ZIP into its dataset (see worker.import_archive)."""
    from webapp.datasets.worker import import_archive

    return import_archive(import_id, worker=self.request.hostname or socket.gethostname(), token=self.request.id)
