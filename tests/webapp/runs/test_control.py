"""Cancel, resume and re-run, without a worker: the state changes and what gets sent."""

import pytest

from tests.factories import make_run
from webapp.runs.forms import LaunchForm
from webapp.runs.models import RunStatus
from webapp.runs.services import conf
from webapp.runs.services.control import RunStateError, cancel_run, rerun_initial, resume_run
from webapp.runs.services.lifecycle import claim

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]


def with_checkpoint(run):
    folder = conf.run_dir(run) / "checkpoints"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "epoch_0001.pt").write_bytes(b"x")
    return run


def test_cancelling_a_running_run_raises_the_flag_the_engine_reads(owner):
    run = make_run(owner, status=RunStatus.RUNNING, silent_for_s=0)
    cancel_run(run)
    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING and run.cancel_requested


@pytest.mark.parametrize("status", [RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED])
def test_a_finished_run_cannot_be_cancelled(owner, status):
    with pytest.raises(RunStateError, match=f"This run is {status}"):
        cancel_run(make_run(owner, status=status))


@pytest.mark.parametrize("status", [RunStatus.CANCELLED, RunStatus.FAILED])
def test_resume_queues_a_stopped_run_with_a_checkpoint(owner, status, django_capture_on_commit_callbacks):
    run = with_checkpoint(make_run(owner, status=status, cancel_requested=True, error="boom", attempts=1))
    with django_capture_on_commit_callbacks() as sent:
        resume_run(run)
    run.refresh_from_db()
    assert run.status == RunStatus.QUEUED and not run.cancel_requested and run.error == "" and len(sent) == 1
    # The worker's claim then continues the same run: attempt 2.
    assert claim(run.pk, worker="w", device="cpu").attempt == 2


def test_resume_refuses_a_succeeded_run(owner):
    with pytest.raises(RunStateError, match="only a cancelled, failed or interrupted run"):
        resume_run(with_checkpoint(make_run(owner, status=RunStatus.SUCCEEDED)))


def test_only_one_worker_can_claim_a_run(owner):
    run = make_run(owner, status=RunStatus.QUEUED)
    assert claim(run.pk, worker="a", device="cpu") is not None
    assert claim(run.pk, worker="b", device="cpu") is None
    run.refresh_from_db()
    assert (run.status, run.worker, run.attempts) == (RunStatus.RUNNING, "a", 1)


def test_rerun_fills_the_form_with_the_same_config(owner):
    run = make_run(owner, status=RunStatus.SUCCEEDED, name="first", epochs=2,
                   config={"arch": "custom", "image_size": 16})
    initial = rerun_initial(run)
    assert initial["arch"] == "custom" and initial["version"] == run.version_id and initial["epochs"] == 2
    form = LaunchForm(data=initial, user=owner)
    assert form.is_valid(), form.errors
    assert form.resolved.config.to_dict() == {**run.config, "device": form.resolved.config.device}
