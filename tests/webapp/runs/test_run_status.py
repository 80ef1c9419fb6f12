"""The polled JSON: progress as a bar's numbers, the curves so far, and why a run stopped."""

import pytest

from tests.factories import make_run
from webapp.runs.models import EpochMetric, RunStatus
from webapp.runs.services.status import run_status

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]


def test_a_running_run_reports_epoch_step_speed_and_eta(owner):
    run = make_run(owner, status=RunStatus.RUNNING, curves=0, silent_for_s=1, attempts=1, progress={
        "phase": "train", "epoch": 2, "epochs": 4, "step": 5, "steps": 10, "images_per_s": 321.0, "eta_s": 12.5,
        "loss": 0.7, "accuracy": 0.6, "lr": 0.05})
    EpochMetric.objects.create(run=run, epoch=1, train_loss=1.0, train_accuracy=0.4, val_loss=0.9, val_accuracy=0.5,
                               lr=0.1, images_per_s=300, seconds=2)
    status = run_status(run)
    progress = status["progress"]
    assert (progress["epoch"], progress["epochs"], progress["step"], progress["steps"]) == (2, 4, 5, 10)
    assert progress["fraction"] == pytest.approx((1 + 0.5) / 4) and progress["eta_s"] == 12.5
    assert status["epochs"][0]["val_accuracy"] == 0.5 and status["can_cancel"] and not status["can_resume"]
    assert status["timings"]["heartbeat_age_s"] >= 0 and status["attempts"] == 1


def test_a_failed_run_shows_its_error_and_traceback(owner):
    run = make_run(owner, status=RunStatus.FAILED, error="training diverged", traceback="Traceback ...")
    status = run_status(run)
    assert (status["error"], status["traceback"], status["status_label"]) == ("training diverged", "Traceback ...",
                                                                              "Failed")
    assert not status["can_cancel"]
