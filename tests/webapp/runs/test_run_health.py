"""Health warnings: written live by the worker's monitor, kept free of NaN, shown on every run page and the API,
and followed in one click by "Re-run with the suggested settings"."""

import math

import pytest
from django.urls import reverse

from tests.factories import make_run
from webapp.runs.models import EpochMetric, RunStatus, TrainingRun
from webapp.runs.services import health, lifecycle
from webapp.runs.worker import RunMonitor

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]

HIGH_LR = {"code": "loss_not_falling", "message": "The training loss never fell: 442 in the first epoch.",
           "cause": "The learning rate is too high: each step overshoots.", "setting": "lr",
           "suggested": {"lr": 0.002}}
FEW_STEPS = {"code": "too_few_steps", "message": "The run takes only 24 optimisation steps.",
             "cause": "Too few epochs for this many images.", "setting": "epochs", "suggested": {"epochs": 40}}
SMALL_TEST = {"code": "small_test", "message": "Only 15 test images.", "cause": "Too few held-back images.",
              "setting": "", "suggested": {}}


@pytest.fixture
def flagged(owner, finished):
    """Return the finished run with two warnings that suggest settings and one that does not."""
    run, evaluation, _ = finished
    TrainingRun.objects.filter(pk=run.pk).update(health=[HIGH_LR, FEW_STEPS, SMALL_TEST],
                                                 config={**run.config, "lr": 10.0})
    run.refresh_from_db()
    return run, evaluation


def test_the_monitor_checks_health_after_each_stored_epoch_while_the_run_trains(owner):
    run = make_run(owner, status=RunStatus.QUEUED, config={"lr": 10.0, "epochs": 4})
    monitor = RunMonitor(lifecycle.claim(run.pk, worker="w", device="cpu"))
    monitor.health_inputs = {"num_classes": 3, "train_images": 9, "val_images": 3}
    for n, loss in enumerate([30.0, 40.0], start=1):
        monitor._last_epochs = 0.0  # each epoch a second apart
        monitor.epoch({"epoch": n, "train_loss": loss, "train_accuracy": 0.3, "val_loss": float("nan"),
                       "val_accuracy": 0.33, "lr": 10.0, "images_per_s": 100.0, "seconds": 0.01})
    warnings = TrainingRun.objects.get(pk=run.pk).health
    assert [w["setting"] for w in warnings if w["code"] == "loss_not_falling"] == ["lr"]
    assert next(w for w in warnings if w["setting"] == "lr")["suggested"]["lr"] < 10
    assert EpochMetric.objects.filter(run=run, val_loss__isnull=True).count() == 2  # NaN stored as missing


def test_no_nan_or_infinity_reaches_a_json_column():
    assert health.finite({"ece": math.nan, "rows": [[1.0, math.inf]], "top1": 0.5}) == {
        "ece": None, "rows": [[1.0, None]], "top1": 0.5}


def test_a_diverged_run_is_told_to_lower_its_learning_rate(owner):
    run = make_run(owner, status=RunStatus.FAILED, config={"lr": 10.0})
    warning = health.diverged_warning(run, "training diverged: the loss became nan at epoch 1; lower it")
    assert warning["setting"] == "lr" and warning["suggested"]["lr"] <= 1.0
    assert "the loss became nan at epoch 1" in warning["message"]


def test_the_run_page_shows_each_warning_with_its_cause_and_fix(owner_client, flagged):
    run, _ = flagged
    page = owner_client.get(reverse("run_detail", args=[run.pk])).content.decode()
    for text in (HIGH_LR["message"], HIGH_LR["cause"], "Set lr to 0.002", "Set epochs to 40", SMALL_TEST["message"],
                 "Re-run with the suggested settings", reverse("run_rerun_suggested", args=[run.pk])):
        assert text in page


def test_the_status_json_carries_the_warnings_for_the_live_page(owner_client, flagged):
    run, _ = flagged
    data = owner_client.get(reverse("run_status", args=[run.pk])).json()
    assert [w["code"] for w in data["health"]] == ["loss_not_falling", "too_few_steps", "small_test"]
    assert [w["change"] for w in data["health"]] == ["Set lr to 0.002", "Set epochs to 40", ""]
    assert data["can_rerun_suggested"] is True


def test_a_running_run_shows_its_warnings_but_offers_no_re_run_yet(owner_client, owner, pets):
    run = make_run(owner, pets[0], status=RunStatus.RUNNING)
    TrainingRun.objects.filter(pk=run.pk).update(health=[HIGH_LR])
    data = owner_client.get(reverse("run_status", args=[run.pk])).json()
    assert data["health"][0]["message"] == HIGH_LR["message"] and data["can_rerun_suggested"] is False


def test_the_results_page_shows_the_warnings_and_the_re_run_button(owner_client, flagged):
    run, evaluation = flagged
    page = owner_client.get(reverse("evaluation_detail", args=[evaluation.pk])).content.decode()
    assert HIGH_LR["message"] in page and "Set lr to 0.002" in page
    assert reverse("run_rerun_suggested", args=[run.pk]) in page


def test_the_run_list_counts_each_runs_warnings(owner_client, flagged, owner, pets):
    make_run(owner, pets[0], name="healthy")
    page = owner_client.get(reverse("run_list")).content.decode()
    assert page.count('class="health-badge"') == 1 and "3 warnings" in page


def test_the_re_run_button_launches_the_same_run_with_the_suggested_settings(owner_client, flagged):
    run, _ = flagged
    answer = owner_client.post(reverse("run_rerun_suggested", args=[run.pk]))
    rerun = TrainingRun.objects.exclude(pk=run.pk).get(name__endswith="(suggested settings)")
    assert answer.status_code == 302 and answer.url == reverse("run_detail", args=[rerun.pk])
    assert (rerun.config["lr"], rerun.config["epochs"]) == (0.002, 40)
    assert rerun.config["batch_size"] == run.config["batch_size"] and rerun.version_id == run.version_id
    assert rerun.status == RunStatus.QUEUED and rerun.config["recipe"].endswith("lr 10 → 0.002, epochs 3 → 40.")


def test_a_run_with_nothing_to_change_says_so_instead_of_re_running(owner_client, finished):
    run, _, _ = finished
    answer = owner_client.post(reverse("run_rerun_suggested", args=[run.pk]), follow=True)
    assert "suggests no setting to change" in answer.content.decode()
    assert TrainingRun.objects.count() == 1


def test_the_api_shows_health_and_re_runs_with_the_suggestions(api_client, owner, flagged):
    run, _ = flagged
    api_client.force_authenticate(owner)
    shown = api_client.get(f"/api/runs/{run.pk}/").json()
    assert shown["health"] == [HIGH_LR, FEW_STEPS, SMALL_TEST]
    assert api_client.get("/api/runs/").json()["results"][0]["health"] == shown["health"]
    answer = api_client.post(f"/api/runs/{run.pk}/rerun/")
    assert answer.status_code == 201 and answer.json()["config"]["lr"] == 0.002
    assert answer.json()["health"] == []


def test_the_api_re_run_answers_409_when_nothing_is_suggested_and_404_to_outsiders(api_client, owner, outsider,
                                                                                  finished):
    run, _, _ = finished
    api_client.force_authenticate(owner)
    assert api_client.post(f"/api/runs/{run.pk}/rerun/").status_code == 409
    api_client.force_authenticate(outsider)
    assert api_client.post(f"/api/runs/{run.pk}/rerun/").status_code == 404


def test_the_schema_documents_the_health_field_and_the_re_run_action(owner_client):
    schema = owner_client.get("/api/schema/?format=json").json()
    field = schema["components"]["schemas"]["Run"]["properties"]["health"]
    assert field["readOnly"] is True and "suggested" in field["items"]["properties"]
    assert "post" in schema["paths"]["/api/runs/{id}/rerun/"]
