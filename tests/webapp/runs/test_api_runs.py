"""The runs API: launch with the form's validation, list and filter, act, read results; outsiders get 404."""

import pytest
import torch

from classifier.metrics import classification_metrics
from tests.factories import SMALL, TINY_SPEC, make_run, make_version, tiny_network
from webapp.runs.models import EpochMetric, Evaluation, RunStatus
from webapp.runs.services.evaluations import store_evaluation

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]


@pytest.fixture
def api(api_client, owner):
    api_client.force_authenticate(owner)
    return api_client


@pytest.fixture
def outsider_api(api_client, outsider):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(outsider)
    return client


def finished_run(owner):
    """Return a succeeded run with two epochs and a test evaluation: image i of class c predicted (c + i) % 3."""
    run = make_run(owner, status=RunStatus.SUCCEEDED, curves=0)
    for epoch in (1, 2):
        EpochMetric.objects.create(run=run, epoch=epoch, train_loss=1 / epoch, train_accuracy=0.5, val_loss=1.0,
                                   val_accuracy=0.5, lr=0.1, images_per_s=100, seconds=1)
    entries = list(run.version.entries.filter(split="test").order_by("class_index", "image_id"))
    targets = torch.tensor([e.class_index for e in entries])  # (N,)
    preds = torch.tensor([(e.class_index + i) % 3 for i, e in enumerate(entries)])
    logits = torch.nn.functional.one_hot(preds, 3).double() * 3  # (N, 3)
    metrics = classification_metrics(logits, targets, list(run.version.class_names))
    metrics["predictions"] = [{"record_index": i, "true": int(t), "predicted": int(p), "confidence": 0.9 - i / 100,
                               "top5": [[int(p), 0.9]]} for i, (t, p) in enumerate(zip(targets, preds, strict=True))]
    evaluation = store_evaluation(Evaluation(run=run, version=run.version, split="test",
                                             class_names=list(run.version.class_names)),
                                  metrics, [e.image_id for e in entries])
    return run, evaluation


def test_launching_gives_the_forms_errors_beside_each_field(api, owner):
    version = make_version(owner, per_split=SMALL)
    dataset = version.dataset.pk
    bad_size = api.post("/api/runs/", {"dataset": dataset, "arch": "vit_b_16", "image_size": 40}, format="json")
    assert bad_size.status_code == 400 and list(bad_size.json()) == ["image_size"]
    assert "multiple of the 16 px patch" in bad_size.json()["image_size"][0]
    big_batch = api.post("/api/runs/", {"dataset": dataset, "arch": "custom", "batch_size": 999}, format="json")
    assert big_batch.status_code == 400 and list(big_batch.json()) == ["batch_size"]
    nothing = api.post("/api/runs/", {"arch": "custom"}, format="json")
    assert nothing.json() == {"dataset": ["Choose the dataset to train on."]}


def test_launching_creates_a_queued_run(api, owner, django_capture_on_commit_callbacks):
    version = make_version(owner, per_split=SMALL)
    with django_capture_on_commit_callbacks() as sent:
        response = api.post("/api/runs/", {"dataset": version.dataset.pk, "arch": "custom", "epochs": 3},
                            format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "queued" and body["config"]["epochs"] == 3 and body["version"] == version.pk
    assert len(sent) == 1


def test_runs_are_listed_with_filters(api, owner):
    version = make_version(owner, per_split=SMALL)
    queued = make_run(owner, version, status=RunStatus.QUEUED)
    done, _ = finished_run(owner)
    ids = lambda response: [row["id"] for row in response.json()["results"]]  # noqa: E731
    assert set(ids(api.get("/api/runs/"))) == {queued.pk, done.pk}
    assert ids(api.get("/api/runs/?status=succeeded")) == [done.pk]
    assert ids(api.get(f"/api/runs/?dataset={version.dataset_id}")) == [queued.pk]
    assert ids(api.get("/api/runs/?arch=vgg11")) == []
    listed = {row["id"]: row for row in api.get("/api/runs/?ordering=-top1").json()["results"]}
    assert listed[done.pk]["top1"] == pytest.approx(1 / 3) and listed[queued.pk]["top1"] is None


def test_a_run_shows_its_epochs_status_and_evaluations(api, owner):
    run, evaluation = finished_run(owner)
    detail = api.get(f"/api/runs/{run.pk}/").json()
    assert detail["evaluations"] == [{"id": evaluation.pk, "split": "test", "version": run.version_id,
                                      "status": "succeeded", "top1": pytest.approx(1 / 3)}]
    assert [e["epoch"] for e in api.get(f"/api/runs/{run.pk}/epochs/").json()] == [1, 2]
    status = api.get(f"/api/runs/{run.pk}/status/").json()
    assert status["status"] == "succeeded" and len(status["epochs"]) == 2
    assert len(api.get(f"/api/runs/{run.pk}/status/?since_epoch=1").json()["epochs"]) == 1


def test_cancel_and_resume_answer_409_when_the_state_does_not_allow(api, owner):
    run, _ = finished_run(owner)
    assert api.post(f"/api/runs/{run.pk}/cancel/").status_code == 409
    assert "only a cancelled, failed or interrupted" in api.post(f"/api/runs/{run.pk}/resume/").json()["detail"]
    queued = make_run(owner, run.version, status=RunStatus.QUEUED)
    response = api.post(f"/api/runs/{queued.pk}/cancel/")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"


def test_an_evaluation_has_its_matrix_per_class_metrics_and_filterable_predictions(api, owner):
    _, evaluation = finished_run(owner)
    body = api.get(f"/api/evaluations/{evaluation.pk}/").json()
    matrix = body["confusion_matrix"]
    assert sum(map(sum, matrix)) == body["num_samples"] == 6
    assert [row["recall"] for row in body["per_class"]] == [pytest.approx(m[i] / sum(m)) for i, m in enumerate(matrix)]
    cell = api.get(f"/api/evaluations/{evaluation.pk}/predictions/?true=0&predicted=1").json()
    assert cell["count"] == matrix[0][1] and all(p["true_index"] == 0 and p["predicted_index"] == 1
                                                for p in cell["results"])
    wrong = api.get(f"/api/evaluations/{evaluation.pk}/predictions/?correct=false&page_size=2").json()
    assert wrong["count"] == 4 and len(wrong["results"]) == 2 and wrong["next"]
    assert [p["confidence"] for p in wrong["results"]] == sorted([p["confidence"] for p in wrong["results"]],
                                                                 reverse=True)
    assert cell["results"][0]["true_class"] == "red" and cell["results"][0]["predicted_class"] == "green"


def test_evaluating_another_version_needs_a_finished_model(api, owner):
    queued = make_run(owner, status=RunStatus.QUEUED)
    response = api.post(f"/api/runs/{queued.pk}/evaluate/", {"version": queued.version_id, "split": "test"},
                        format="json")
    assert response.status_code == 400 and "finished" in response.json()["non_field_errors"][0]


def test_networks_are_saved_checked_and_measured(api, owner):
    made = api.post("/api/networks/", {"name": "tiny", "spec": TINY_SPEC, "image_size": 16}, format="json")
    assert made.status_code == 201 and made.json()["value"] == f"net:{made.json()['id']}"
    assert made.json()["params"] == 8 * 27 + 8 + 16 * 72 + 16 + 16 * 10 + 10
    again = api.post("/api/networks/", {"name": "tiny", "spec": TINY_SPEC, "image_size": 16}, format="json")
    assert again.status_code == 400 and "already have a network" in again.json()["name"][0]
    too_small = api.post("/api/networks/", {"name": "t2", "spec": [{"type": "maxpool", "kernel": 4}],
                                            "image_size": 2}, format="json")
    assert too_small.status_code == 400 and "would shrink the 2x2 map to 0x0" in too_small.json()["spec"][0]
    shapes = api.post("/api/networks/shapes/", {"spec": TINY_SPEC, "image_size": 16, "num_classes": 3},
                      format="json").json()
    assert shapes["ok"] and [row["out_shape"] for row in shapes["layers"]][:3] == [[8, 16, 16], [8, 16, 16],
                                                                                  [8, 8, 8]]
    assert shapes["layers"][-1]["out_shape"] == [3]


def test_outsiders_get_404_everywhere(api, outsider_api, owner):
    run, evaluation = finished_run(owner)
    network = tiny_network(owner)
    gets = [f"/api/runs/{run.pk}/", f"/api/runs/{run.pk}/epochs/", f"/api/runs/{run.pk}/status/",
            f"/api/evaluations/{evaluation.pk}/", f"/api/evaluations/{evaluation.pk}/predictions/",
            f"/api/networks/{network.pk}/"]
    posts = [f"/api/runs/{run.pk}/cancel/", f"/api/runs/{run.pk}/resume/", f"/api/runs/{run.pk}/evaluate/"]
    for url in gets:
        assert outsider_api.get(url).status_code == 404, url
    for url in posts:
        assert outsider_api.post(url, {}, format="json").status_code == 404, url
    assert outsider_api.delete(f"/api/networks/{network.pk}/").status_code == 404
    assert outsider_api.patch(f"/api/networks/{network.pk}/", {"name": "x"}, format="json").status_code == 404
    for url in ("/api/runs/", "/api/evaluations/", "/api/networks/"):
        assert outsider_api.get(url).json()["count"] == 0
    assert api.get(gets[0]).status_code == 200


def test_the_schema_describes_the_runs_api(owner_client):
    paths = owner_client.get("/api/schema/?format=json").json()["paths"]
    for path in ("/api/runs/", "/api/runs/{id}/cancel/", "/api/runs/{id}/resume/", "/api/runs/{id}/epochs/",
                 "/api/evaluations/{id}/", "/api/evaluations/{id}/predictions/", "/api/networks/",
                 "/api/networks/shapes/"):
        assert path in paths, path
