"""A download whose worker died is sent again by the reaper, then failed with the reason after its attempts."""

from datetime import timedelta

import pytest
from django.utils import timezone

from webapp.core.reaping import kinds
from webapp.weights.models import DownloadStatus, WeightsFileRecord
from webapp.weights.services.reaper import DOWNLOADS
from webapp.weights.worker import fetch

pytestmark = pytest.mark.django_db


def silent_row(**fields) -> WeightsFileRecord:
    """Return a download held by a worker that stopped beating ten minutes ago."""
    long_ago = timezone.now() - timedelta(minutes=10)
    return WeightsFileRecord.objects.create(filename="resnet18-f37072fd.pth", arch="resnet18",
                                            status=DownloadStatus.RUNNING, heartbeat_at=long_ago, worker="box",
                                            task_id="old", queued_at=long_ago, sent_at=long_ago, **fields)


def test_the_reaper_knows_downloads_and_requeues_one_whose_worker_died(sent, django_capture_on_commit_callbacks):
    assert DOWNLOADS in kinds()
    row = silent_row(attempts=1)

    with django_capture_on_commit_callbacks(execute=True):
        outcome = DOWNLOADS.reap_stale(timezone.now())

    row.refresh_from_db()
    assert outcome["requeued"] == [row.pk] and row.status == DownloadStatus.QUEUED and row.task_id != "old"
    assert sent == [(row.pk, row.task_id, "default")]
    assert fetch(row.pk, token="old") == "not claimed"  # the dead worker's message, delivered late, does nothing


def test_a_download_out_of_attempts_fails_with_the_reason():
    row = silent_row(attempts=3)
    assert DOWNLOADS.reap_stale(timezone.now())["failed"] == [row.pk]
    row.refresh_from_db()
    assert row.status == DownloadStatus.FAILED and "the worker running this download stopped 3 times" in row.error
