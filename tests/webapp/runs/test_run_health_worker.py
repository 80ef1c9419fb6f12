"""A run forced to chance through the real worker: its health check names the learning rate and the fix."""

import pytest
from django.urls import reverse

from tests.factories import make_dataset, tiny_network, wait_until_finished
from webapp.runs.forms import LaunchForm
from webapp.runs.models import RunStatus, TrainingRun
from webapp.runs.services.control import cancel_run

pytestmark = [pytest.mark.slow]


def test_a_run_at_learning_rate_10_is_flagged_and_re_runs_with_the_suggested_rate(worker, owner, client):
    network = tiny_network(owner)
    form = LaunchForm(data={"dataset": make_dataset(owner).pk, "arch": f"net:{network.pk}", "epochs": 6,
                            "batch_size": 8, "lr": 10, "seed": 1}, user=owner)
    assert form.is_valid(), form.errors
    run = wait_until_finished(form.launch().pk, log=worker.log)
    assert run.status in (RunStatus.SUCCEEDED, RunStatus.FAILED), (run.error, worker.log()[-3000:])

    lr_warnings = [w for w in run.health if w["setting"] == "lr"]
    assert lr_warnings, run.health
    warning = lr_warnings[0]
    assert "learning rate is too high" in warning["cause"]
    assert 0 < warning["suggested"]["lr"] < 10

    client.force_login(owner)
    page = client.get(reverse("run_detail", args=[run.pk])).content.decode()
    assert warning["message"] in page and "Set lr to" in page and "Re-run with the suggested settings" in page

    answer = client.post(reverse("run_rerun_suggested", args=[run.pk]))
    rerun = TrainingRun.objects.exclude(pk=run.pk).get()
    assert answer.status_code == 302 and answer.url == reverse("run_detail", args=[rerun.pk])
    assert rerun.config["lr"] == warning["suggested"]["lr"]
    # Every other setting is the old run's, but for what the other warnings suggest (more epochs: 24 steps).
    suggested = {key: value for w in run.health for key, value in w["suggested"].items()}
    assert {k: v for k, v in rerun.config.items() if k != "recipe"} == {
        **{k: v for k, v in run.config.items() if k != "recipe"}, **suggested}
    assert rerun.config["recipe"].startswith(f"Re-run of run {run.pk} with its health check's suggestions: lr 10 → ")
    assert rerun.version_id == run.version_id and rerun.network_id == network.pk
    cancel_run(rerun)
    wait_until_finished(rerun.pk, log=worker.log)
