"""The weights app's job kind for the reaper (webapp.core.reaping): downloads of ImageNet weights files."""

from __future__ import annotations

from django.urls import reverse

from webapp.celery import DEFAULT_QUEUE
from webapp.core import reaping
from webapp.core.reaping import ColumnKind
from webapp.weights.models import DownloadStatus, WeightsFileRecord

FETCH_TASK = "webapp.weights.tasks.fetch_weights"


class DownloadKind(ColumnKind):
    """A download restarts from the beginning when its worker died (torch's helper does not resume)."""

    name = "weights.downloads"
    noun = "download"
    model = WeightsFileRecord
    task = FETCH_TASK
    waiting = (DownloadStatus.QUEUED,)
    queued = DownloadStatus.QUEUED
    running = DownloadStatus.RUNNING
    failed = DownloadStatus.FAILED

    def queue(self):
        return DEFAULT_QUEUE

    def page_url(self, pk):
        return reverse("weights_page")


DOWNLOADS = reaping.register(DownloadKind())
