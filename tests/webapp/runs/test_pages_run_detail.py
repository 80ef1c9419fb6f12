"""The run page, its status JSON, and the cancel and resume buttons."""

import pytest
from django.urls import reverse

from tests.factories import make_run
from webapp.runs.models import RunStatus, TrainingRun

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]


@pytest.fixture
def running(owner, pets):
    version, _ = pets
    run = make_run(owner, version, name="live", status=RunStatus.RUNNING, epochs=2)
    run.progress = {"phase": "train", "epoch": 3, "epochs": 10, "step": 5, "steps": 20, "images_per_s": 812.5,
                    "eta_s": 95.0, "lr": 0.05, "loss": 0.71}
    run.save()
    return run


def test_status_json_has_progress_and_curves(owner_client, running):
    data = owner_client.get(reverse("run_status", args=[running.pk])).json()
    assert data["status"] == "running" and data["is_active"] is True
    p = data["progress"]
    assert (p["epoch"], p["epochs"], p["step"], p["steps"]) == (3, 10, 5, 20)
    assert p["images_per_s"] == 812.5 and p["eta_s"] == 95.0
    assert p["fraction"] == pytest.approx((2 + 5 / 20) / 10)
    assert [e["epoch"] for e in data["epochs"]] == [1, 2]
    assert data["epochs"][1]["val_accuracy"] == pytest.approx(0.75)
    assert data["can_cancel"] is True and data["can_resume"] is False


def test_status_json_links_results_when_finished(owner_client, finished):
    run, evaluation, _ = finished
    data = owner_client.get(reverse("run_status", args=[run.pk])).json()
    assert data["is_active"] is False
    assert data["evaluations"] == [dict(data["evaluations"][0], url=reverse("evaluation_detail", args=[evaluation.pk]),
                                        split="test", status="succeeded", version="Pets v1")]
    assert data["evaluate_url"] == reverse("run_evaluate", args=[run.pk])


def test_the_page_shows_config_version_device_and_worker(owner_client, running):
    html = owner_client.get(reverse("run_detail", args=[running.pk])).content.decode()
    assert "Pets v1" in html and "celery@box" in html and ">cpu<" in html
    assert '<dt>epochs</dt><dd>2</dd>' in html
    assert 'id="progress-bar"' in html and 'id="loss-chart"' in html and "chart.umd.js" in html
    assert 'id="cancel-form"' in html and 'id="cancel-form" hidden' not in html


def test_a_failed_run_shows_its_error_and_traceback(owner_client, owner, pets):
    version, _ = pets
    run = make_run(owner, version, status=RunStatus.FAILED)
    run.error = "CUDA out of memory"
    run.traceback = "Traceback (most recent call last):\n  File 'loop.py'\nRuntimeError: CUDA out of memory"
    run.warnings = ["batch size was reduced to 6"]
    run.save()
    html = owner_client.get(reverse("run_detail", args=[run.pk])).content.decode()
    assert '<p class="field-error" id="error-text">CUDA out of memory</p>' in html
    assert "<summary>Traceback</summary>" in html and "RuntimeError: CUDA out of memory</pre>" in html
    assert "<li>batch size was reduced to 6</li>" in html


def test_cancel_asks_a_running_run_to_stop(owner_client, running):
    response = owner_client.post(reverse("run_cancel", args=[running.pk]))
    assert response.status_code == 302
    assert TrainingRun.objects.get(pk=running.pk).cancel_requested is True


def test_cancel_of_a_finished_run_says_why_not(owner_client, finished):
    run, _, _ = finished
    response = owner_client.post(reverse("run_cancel", args=[run.pk]), follow=True)
    assert "only a queued or running run can be cancelled" in response.content.decode()
    assert TrainingRun.objects.get(pk=run.pk).status == RunStatus.SUCCEEDED


def test_resume_without_a_checkpoint_says_why_not(owner_client, owner, pets):
    version, _ = pets
    run = make_run(owner, version, status=RunStatus.CANCELLED)
    response = owner_client.post(reverse("run_resume", args=[run.pk]), follow=True)
    assert "nothing to resume" in response.content.decode()
    assert TrainingRun.objects.get(pk=run.pk).status == RunStatus.CANCELLED


def test_cancel_and_resume_refuse_get(owner_client, running):
    assert owner_client.get(reverse("run_cancel", args=[running.pk])).status_code == 405
    assert owner_client.get(reverse("run_resume", args=[running.pk])).status_code == 405


def test_outsiders_get_404_everywhere(outsider_client, running):
    for name in ("run_detail", "run_status", "run_rerun", "run_evaluate", "run_weights"):
        assert outsider_client.get(reverse(name, args=[running.pk])).status_code == 404, name
    for name in ("run_cancel", "run_resume"):
        assert outsider_client.post(reverse(name, args=[running.pk])).status_code == 404, name
    assert TrainingRun.objects.get(pk=running.pk).cancel_requested is False
