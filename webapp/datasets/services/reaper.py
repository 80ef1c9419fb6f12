"""The datasets app's job kind for the reaper (webapp.core.reaping): archive imports.

A requeued import resumes after the batches it already committed (webapp/datasets/worker.py).
"""

from __future__ import annotations

from django.urls import reverse

from webapp.core import reaping
from webapp.core.reaping import ColumnKind
from webapp.datasets.models import Import, ImportKind, ImportStatus


class ArchiveImportKind(ColumnKind):
    """ZIP imports run by a worker (upload batches are checked in the request and never wait for one)."""

    name = "datasets.imports"
    noun = "import"
    model = Import
    task = "webapp.datasets.tasks.import_archive"
    waiting = (ImportStatus.QUEUED,)

    def rows(self):
        return Import.objects.filter(kind=ImportKind.ARCHIVE)

    def page_url(self, pk):
        dataset_id = self.rows().filter(pk=pk).values_list("dataset_id", flat=True).first()
        return reverse("import_detail", args=[dataset_id, pk]) if dataset_id else None


IMPORTS = reaping.register(ArchiveImportKind())
