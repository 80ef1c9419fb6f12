"""Run rows the service and API tests build directly, without a worker."""

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.webapp.runs.factories import squares_dataset, version_of
from training.config import TrainConfig
from webapp.runs.models import RunStatus, TrainingRun

_names = itertools.count(1)


def small_version(owner, name=None):
    """Return a frozen version of a fresh 3-class dataset: 3 train, 1 val and 2 test images per class."""
    dataset = squares_dataset(owner, name=name or f"Squares {next(_names)}", per_split={"train": 3, "val": 1,
                                                                                       "test": 2})
    return version_of(dataset, owner)


def make_run(owner, version=None, *, status=RunStatus.QUEUED, silent_for_s=None, attempts=0, **fields):
    """Return a run row; `silent_for_s` sets its last heartbeat that many seconds ago."""
    version = version or small_version(owner)
    config = TrainConfig(arch="custom", image_size=16, epochs=2, batch_size=4).to_dict()
    heartbeat = timezone.now() - timedelta(seconds=silent_for_s) if silent_for_s is not None else None
    run = TrainingRun.objects.create(owner=owner, version=version, arch="custom", config=config, status=status,
                                     attempts=attempts, heartbeat_at=heartbeat, worker="gpu@old-box", **fields)
    TrainingRun.objects.filter(pk=run.pk).update(output_dir=f"runs/{run.pk}")
    run.refresh_from_db()
    return run


@pytest.fixture
def private_media(settings, tmp_path):
    """Give the test its own empty MEDIA_ROOT (run folders, checkpoints), so nothing leaks between tests."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    return settings.MEDIA_ROOT
