"""A real worker trains a tiny model from a launched run and stores everything the results pages read."""

from pathlib import Path

import pytest
from django.conf import settings
from django.db import transaction

from classifier.factory import load_model
from tests.factories import make_dataset, make_version, tiny_network, wait_for, wait_until_finished
from webapp.runs.forms import LaunchForm
from webapp.runs.models import EpochMetric, EvalPrediction, EvaluationStatus, ModelArtifact, RunStatus, TrainingRun
from webapp.runs.services.evaluations import evaluate_on_version
from webapp.runs.services.status import run_status

pytestmark = [pytest.mark.slow, pytest.mark.smoke]


def launch(owner, **data):
    form = LaunchForm(data=data, user=owner)
    assert form.is_valid(), form.errors
    return form.launch()


def test_a_worker_trains_a_run_and_stores_its_results(worker, owner):
    network = tiny_network(owner)
    dataset = make_dataset(owner)
    run = launch(owner, dataset=dataset.pk, arch=f"net:{network.pk}", epochs=3, batch_size=8, lr=0.05, seed=1)
    run = wait_until_finished(run.pk, log=worker.log)
    assert run.status == RunStatus.SUCCEEDED, (run.error, run.traceback, worker.log()[-4000:])
    assert run.attempts == 1 and run.worker and run.device.startswith("cpu")
    assert run.started_at <= run.finished_at and run.train_seconds > 0 and run.best_epoch in (1, 2, 3)
    assert list(EpochMetric.objects.filter(run=run).values_list("epoch", flat=True)) == [1, 2, 3]
    assert set(run.timings) >= {"cache_s", "fit_s", "evaluate_s", "total_s"}

    test = run.evaluations.get(split="test")
    matrix = test.metrics["confusion_matrix"]
    assert sum(map(sum, matrix)) == test.num_samples == 15 == EvalPrediction.objects.filter(evaluation=test).count()
    for i, row in enumerate(test.metrics["per_class"]):
        assert row["recall"] == pytest.approx(matrix[i][i] / sum(matrix[i]))
    assert run.evaluations.get(split="val").num_samples == 12
    # The predictions behind a cell are exactly the images of that cell, from the frozen version's test split.
    cell = EvalPrediction.objects.filter(evaluation=test, true_index=0, predicted_index=0)
    assert cell.count() == matrix[0][0]
    assert set(run.version.entries.filter(split="test").values_list("image_id", flat=True)) == set(
        EvalPrediction.objects.filter(evaluation=test).values_list("image_id", flat=True))

    weights = run.artifacts.get(kind=ModelArtifact.Kind.WEIGHTS)
    model, card = load_model(Path(settings.MEDIA_ROOT) / weights.path)
    assert card.class_names == ["red", "green", "blue"] and card.spec == network.spec and len(weights.sha256) == 64
    status = run_status(run)
    assert status["progress"]["fraction"] == 1.0 and [e["epoch"] for e in status["epochs"]] == [1, 2, 3]

    # The finished model measured on another version of the data: a queued evaluation the worker fills in.
    other = make_version(owner, make_dataset(owner, name="More squares", seed=7))
    evaluation = evaluate_on_version(run, other, "test", user=owner)
    assert evaluation.status == EvaluationStatus.QUEUED and evaluation.top1 is None
    done = wait_for(lambda: run.evaluations.filter(pk=evaluation.pk, status__in=["succeeded", "failed"]).first(),
                    timeout=60, what="the evaluation", log=worker.log)
    assert done.status == EvaluationStatus.SUCCEEDED, done.error
    assert done.num_samples == 15 == done.predictions.count() and 0 <= done.top1 <= 1


def test_an_exception_in_training_fails_the_run_with_its_traceback(worker, owner):
    dataset = make_dataset(owner)
    with transaction.atomic():  # the task is sent on commit, so the worker sees the broken config
        run = launch(owner, dataset=dataset.pk, arch="custom", epochs=1)
        TrainingRun.objects.filter(pk=run.pk).update(config={**run.config, "arch": "no_such_net"})
    run = wait_until_finished(run.pk, timeout=60, log=worker.log)
    assert run.status == RunStatus.FAILED
    assert "unknown architecture 'no_such_net'" in run.error
    assert "Traceback" in run.traceback and "ConfigError" in run.traceback and len(run.traceback) <= 20_100
    assert run_status(run)["error"] == run.error
