"""CSV downloads of an evaluation and a run's weights file, for the owner only."""

import csv
import io

import pytest
from django.urls import reverse

from webapp.runs.models import ModelArtifact

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]


def rows(response) -> list[list[str]]:
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_confusion_matrix_csv(owner_client, finished):
    _, evaluation, _ = finished
    got = rows(owner_client.get(reverse("evaluation_confusion_csv", args=[evaluation.pk])))
    assert got == [["true \\ predicted", "cat", "dog", "fox"],
                   ["cat", "1", "2", "0"],
                   ["dog", "0", "3", "0"],
                   ["fox", "1", "0", "2"]]


def test_per_class_csv(owner_client, finished):
    _, evaluation, _ = finished
    got = rows(owner_client.get(reverse("evaluation_per_class_csv", args=[evaluation.pk])))
    assert got[0] == ["class", "index", "precision", "recall", "f1", "support"]
    assert got[1] == ["cat", "0", "0.500000", "0.333333", "0.400000", "3"]
    assert got[2] == ["dog", "1", "0.600000", "1.000000", "0.750000", "3"]
    assert got[3] == ["fox", "2", "1.000000", "0.666667", "0.800000", "3"]


def test_predictions_csv_has_one_row_per_image(owner_client, finished):
    _, evaluation, images = finished
    got = rows(owner_client.get(reverse("evaluation_predictions_csv", args=[evaluation.pk])))
    header, body = got[0], got[1:]
    assert header == ["image_id", "file_name", "sha256", "true_class", "predicted_class", "correct", "confidence",
                      "top5"]
    assert len(body) == 9
    by_id = {int(row[0]): row for row in body}
    fox = by_id[images["fox"][0].pk]
    assert fox[1] == images["fox"][0].original_name and fox[3:6] == ["fox", "cat", "0"]
    assert fox[7].startswith("cat:")
    assert sum(int(row[5]) for row in body) == 6


def test_weights_download(owner_client, finished, media):
    run, _, _ = finished
    assert owner_client.get(reverse("run_weights", args=[run.pk])).status_code == 404  # none saved yet
    path = media / "runs" / str(run.pk) / "model.safetensors"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"weights!")
    ModelArtifact.objects.create(run=run, kind=ModelArtifact.Kind.WEIGHTS, path=f"runs/{run.pk}/model.safetensors")
    response = owner_client.get(reverse("run_weights", args=[run.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"weights!"
    assert "resnet-on-pets-resnet18_small.safetensors" in response["Content-Disposition"]


def test_weights_path_cannot_leave_the_media_folder(owner_client, finished, tmp_path):
    run, _, _ = finished
    secret = tmp_path / "secret.txt"
    secret.write_text("no")
    ModelArtifact.objects.create(run=run, kind=ModelArtifact.Kind.WEIGHTS, path="../secret.txt")
    assert owner_client.get(reverse("run_weights", args=[run.pk])).status_code == 404


def test_outsiders_get_404(outsider_client, finished, media):
    run, evaluation, _ = finished
    path = media / "w.safetensors"
    path.write_bytes(b"w")
    ModelArtifact.objects.create(run=run, kind=ModelArtifact.Kind.WEIGHTS, path="w.safetensors")
    for name in ("evaluation_confusion_csv", "evaluation_per_class_csv", "evaluation_predictions_csv"):
        assert outsider_client.get(reverse(name, args=[evaluation.pk])).status_code == 404
    assert outsider_client.get(reverse("run_weights", args=[run.pk])).status_code == 404
