"""The engine's link to the run row: throttled progress, batched epochs, cancel read from the database, lost leases."""

import time

import pytest

from tests.factories import make_run
from webapp.runs.models import EpochMetric, RunStatus, TrainingRun
from webapp.runs.services import lifecycle
from webapp.runs.worker import RunMonitor

pytestmark = pytest.mark.usefixtures("media")


def epoch(n):
    return {"epoch": n, "train_loss": 1.0, "train_accuracy": 0.5, "val_loss": 1.0, "val_accuracy": 0.5, "lr": 0.1,
            "images_per_s": 100.0, "seconds": 0.01}


@pytest.mark.django_db
def test_progress_reaches_the_database_at_most_once_a_second(owner, django_assert_num_queries):
    run = make_run(owner, status=RunStatus.QUEUED)
    monitor = RunMonitor(lifecycle.claim(run.pk, worker="w", device="cpu"))
    with django_assert_num_queries(1):
        for step in range(1, 200):
            monitor.progress({"phase": "train", "step": step})
    assert TrainingRun.objects.get(pk=run.pk).progress["step"] == 1
    monitor.progress({"phase": "evaluate"}, force=True)
    assert TrainingRun.objects.get(pk=run.pk).progress["phase"] == "evaluate"


@pytest.mark.django_db
def test_fast_epochs_are_written_in_batches_and_never_twice(owner):
    run = make_run(owner, status=RunStatus.QUEUED)
    monitor = RunMonitor(lifecycle.claim(run.pk, worker="w", device="cpu"))
    for n in range(1, 6):
        monitor.epoch(epoch(n))
    assert list(EpochMetric.objects.filter(run=run).values_list("epoch", flat=True)) == [1]
    lifecycle.record_epochs(run.pk, [epoch(n) for n in range(1, 6)])  # the end of fit: the whole history
    assert list(EpochMetric.objects.filter(run=run).values_list("epoch", flat=True)) == [1, 2, 3, 4, 5]


@pytest.mark.django_db
def test_a_worker_that_lost_its_run_stops_and_writes_nothing(owner):
    run = make_run(owner, status=RunStatus.QUEUED)
    monitor = RunMonitor(lifecycle.claim(run.pk, worker="old", device="cpu"))
    # The reaper gave the run to another worker: a new attempt holds it now.
    TrainingRun.objects.filter(pk=run.pk).update(status=RunStatus.INTERRUPTED)
    assert lifecycle.claim(run.pk, worker="new", device="cpu").attempt == 2
    monitor.progress({"phase": "train", "step": 99}, force=True)
    assert monitor.should_stop() and TrainingRun.objects.get(pk=run.pk).progress == {}
    assert not lifecycle.finish(monitor.lease, "succeed")


def test_the_cancel_flag_is_read_from_the_database_within_seconds(owner, transactional_db):
    run = make_run(owner, status=RunStatus.QUEUED)
    with RunMonitor(lifecycle.claim(run.pk, worker="w", device="cpu")) as monitor:
        assert not monitor.should_stop()
        TrainingRun.objects.filter(pk=run.pk).update(cancel_requested=True)
        deadline = time.monotonic() + 5
        while not monitor.should_stop() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert monitor.cancel.is_set()
