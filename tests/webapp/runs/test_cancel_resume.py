"""Cancel stops a running run within seconds and keeps its checkpoint; resume continues the same run."""

import time

import pytest

from tests.factories import make_dataset, tiny_network, wait_for, wait_until_finished
from webapp.runs.forms import LaunchForm
from webapp.runs.models import EpochMetric, RunStatus, TrainingRun
from webapp.runs.services.conf import has_checkpoint
from webapp.runs.services.control import RunStateError, cancel_run, resume_run

pytestmark = [pytest.mark.slow, pytest.mark.smoke]
EPOCHS = 400  # far more than the test waits for: it cancels long before the end, on any machine


def epochs_of(run):
    return list(EpochMetric.objects.filter(run=run).order_by("epoch").values_list("epoch", flat=True))


def test_cancel_stops_a_running_run_and_resume_continues_it(worker, owner):
    network = tiny_network(owner)
    form = LaunchForm(data={"dataset": make_dataset(owner).pk, "arch": f"net:{network.pk}", "epochs": EPOCHS,
                            "batch_size": 4}, user=owner)
    assert form.is_valid(), form.errors
    run = form.launch()
    wait_for(lambda: EpochMetric.objects.filter(run=run).exists(), timeout=90, what="a first epoch", log=worker.log)

    asked = time.monotonic()
    cancel_run(run)
    run = wait_until_finished(run.pk, timeout=30, log=worker.log)
    assert run.status == RunStatus.CANCELLED and time.monotonic() - asked < 10
    assert has_checkpoint(run) and run.finished_at is not None
    done_before, first = epochs_of(run), run.timings
    assert first["fit_s"] > 0 and "earlier" not in first
    assert done_before == list(range(1, len(done_before) + 1)) and len(done_before) < EPOCHS
    with pytest.raises(RunStateError):
        cancel_run(run)

    resume_run(run)
    assert TrainingRun.objects.get(pk=run.pk).status in (RunStatus.QUEUED, RunStatus.RUNNING)
    wait_for(lambda: len(epochs_of(run)) >= len(done_before) + 2, timeout=90, what="epochs after the resume",
             log=worker.log)
    run.refresh_from_db()
    assert run.attempts == 2 and run.status == RunStatus.RUNNING
    assert run.timings["resumed_from"]["epoch"] >= done_before[-1]
    # The first attempt's phases stay apart from the second's: the run page names each attempt's own.
    assert run.timings["earlier"] == {"attempts": 1, "cache_s": first["cache_s"], "fit_s": first["fit_s"]}
    cancel_run(run)
    run = wait_until_finished(run.pk, timeout=30, log=worker.log)
    assert run.status == RunStatus.CANCELLED
    recorded = epochs_of(run)
    assert recorded == list(range(1, len(recorded) + 1))  # every epoch once, none twice, none skipped


@pytest.mark.usefixtures("media")
def test_a_queued_run_is_cancelled_at_once(owner, transactional_db, django_capture_on_commit_callbacks):
    form = LaunchForm(data={"dataset": make_dataset(owner).pk, "arch": "custom"}, user=owner)
    assert form.is_valid(), form.errors
    with django_capture_on_commit_callbacks(execute=False):  # no worker: the run stays queued
        run = form.launch()
    cancel_run(run)
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED and run.finished_at is not None
    with pytest.raises(RunStateError, match="nothing to resume"):
        resume_run(run)
