"""Dataset work for the `default` queue: thin adapters around the services."""

from celery import shared_task

from webapp.celery import DEFAULT_QUEUE
from webapp.datasets.services import archive_import


@shared_task(name=archive_import.IMPORT_TASK, queue=DEFAULT_QUEUE)
def import_archive(import_id: int) -> None:
    """Import one uploaded ZIP into its dataset (see services.archive_import.import_archive)."""
    archive_import.import_archive(import_id)
