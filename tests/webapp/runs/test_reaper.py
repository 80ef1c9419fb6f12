"""The reaper: a running run whose worker went silent is requeued to resume, a few times, then failed."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import make_run
from webapp.runs.models import Evaluation, RunStatus
from webapp.runs.services.reaper import reap_stale_runs

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]


def test_it_requeues_a_run_whose_heartbeat_went_stale(owner, django_capture_on_commit_callbacks):
    run = make_run(owner, status=RunStatus.RUNNING, silent_for_s=30, attempts=1, task_id="old-task",
                   worker="gpu@old-box")
    with django_capture_on_commit_callbacks() as sent:
        outcome = reap_stale_runs(stale_after_s=10, max_attempts=3)
    run.refresh_from_db()
    assert outcome["requeued"] == [run.pk] and len(sent) == 1
    assert run.status == RunStatus.INTERRUPTED and run.task_id != "old-task" and run.queue == "gpu"
    assert "gpu@old-box stopped responding (no heartbeat for 30 s)" in run.error
    assert any("Attempt 1 was interrupted" in w for w in run.warnings)
    # Requeued once: a second look changes nothing.
    assert not any(reap_stale_runs(stale_after_s=10, max_attempts=3).values())


def test_it_leaves_runs_with_a_fresh_heartbeat_alone(owner):
    run = make_run(owner, status=RunStatus.RUNNING, silent_for_s=2, attempts=1)
    assert reap_stale_runs(stale_after_s=10, max_attempts=3)["requeued"] == []
    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING


def test_it_fails_a_run_out_of_attempts_with_the_reason(owner, django_capture_on_commit_callbacks):
    run = make_run(owner, status=RunStatus.RUNNING, silent_for_s=30, attempts=3, worker="gpu@old-box")
    with django_capture_on_commit_callbacks() as sent:
        outcome = reap_stale_runs(stale_after_s=10, max_attempts=3)
    run.refresh_from_db()
    assert outcome["failed"] == [run.pk] and sent == []
    assert run.status == RunStatus.FAILED and run.finished_at is not None
    assert run.error.startswith("Gave up after 3 attempts: the worker gpu@old-box stopped responding")


def test_a_silent_run_that_was_being_cancelled_ends_cancelled(owner):
    run = make_run(owner, status=RunStatus.RUNNING, silent_for_s=30, attempts=1, cancel_requested=True)
    assert reap_stale_runs(stale_after_s=10, max_attempts=3)["cancelled"] == [run.pk]
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED


def test_the_settings_decide_by_default(owner, settings):
    settings.LUX_RUN_STALE_AFTER_S, settings.LUX_RUN_MAX_ATTEMPTS = 5, 1
    run = make_run(owner, status=RunStatus.RUNNING, silent_for_s=6, attempts=1)
    assert reap_stale_runs()["failed"] == [run.pk]


def running_evaluation(run, *, worker, attempts=1, started_s_ago=120, silent_for_s=120):
    now = timezone.now()
    return Evaluation.objects.create(run=run, version=run.version, split="test", status="running", worker=worker,
                                     attempts=attempts, class_names=list(run.version.class_names),
                                     started_at=now - timedelta(seconds=started_s_ago),
                                     heartbeat_at=now - timedelta(seconds=silent_for_s))


def test_an_evaluation_whose_worker_died_is_requeued_then_given_up(owner, django_capture_on_commit_callbacks):
    run = make_run(owner, status=RunStatus.SUCCEEDED)
    orphan = running_evaluation(run, worker="dead@box")
    busy = running_evaluation(run, worker="alive@box", silent_for_s=2)  # its worker still beats
    hopeless = running_evaluation(run, worker="dead@box", attempts=3)
    with django_capture_on_commit_callbacks() as sent:
        outcome = reap_stale_runs(stale_after_s=10, max_attempts=3)
    assert outcome["evaluations_requeued"] == [orphan.pk] and outcome["evaluations_failed"] == [hopeless.pk]
    assert len(sent) == 1
    statuses = {e.pk: (e.status, e.worker) for e in Evaluation.objects.all()}
    assert statuses[orphan.pk] == ("queued", "") and statuses[busy.pk] == ("running", "alive@box")
    assert Evaluation.objects.get(pk=hopeless.pk).error.startswith(
        "Gave up after 3 attempts: the worker running this evaluation stopped 3 times; last seen on host dead@box at ")
