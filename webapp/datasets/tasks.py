"""Dataset work for the `default` queue: thin adapters around worker.py."""

from celery import shared_task

from webapp.celery import DEFAULT_QUEUE
from webapp.datasets.services.archive_import import IMPORT_TASK


@shared_task(name=IMPORT_TASK, queue=DEFAULT_QUEUE)
def import_archive(import_id: int) -> None:
    """Import one uploaded ZIP into its dataset (see worker.import_archive)."""
    from webapp.datasets.worker import import_archive

    import_archive(import_id)
