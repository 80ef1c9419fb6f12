"""Exports: TorchScript and ONNX files with their parity check recorded, shown, and downloadable by owners only."""

from pathlib import Path

import pytest
from django.conf import settings

from webapp.classify.worker.export import run_export
from webapp.runs.models import ModelArtifact


def export(client, run, fmt):
    response = client.post(f"/classify/runs/{run.pk}/export/{fmt}/")
    assert response.status_code == 302
    artifact = ModelArtifact.objects.filter(run=run, kind=fmt).latest("created_at")
    assert artifact.details["state"] == "queued"
    return artifact


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_an_export_records_and_shows_a_passing_parity_check(owner_client, run, fmt):
    artifact = export(owner_client, run, fmt)
    assert run_export(artifact.pk) == "passed"  # what the worker does
    artifact.refresh_from_db()
    parity = artifact.details["parity"]
    assert parity["passed"] is True and parity["top1_agreement"] == 1.0
    assert parity["max_abs_diff"] <= parity["tolerance"]
    assert artifact.details["images"] == {"source": f"val split of {run.version}", "count": 6}
    assert (Path(settings.MEDIA_ROOT) / artifact.path).is_file()
    page = owner_client.get(f"/classify/models/run/{run.pk}/").content.decode()
    assert "parity passed" in page and "top-1 agreement 100%" in page
    download = owner_client.get(f"/classify/artifacts/{artifact.pk}/download/")
    assert download.status_code == 200
    suffix = "onnx" if fmt == "onnx" else "torchscript.pt"
    assert download["Content-Disposition"].endswith(f'run-{run.pk}-model.{suffix}"')
    assert len(b"".join(download.streaming_content)) == artifact.size_bytes > 0


def test_a_failing_check_is_shown_as_failing(owner_client, run):
    artifact = export(owner_client, run, "onnx")
    run_export(artifact.pk)
    artifact.refresh_from_db()
    # A file that answers differently (as a broken exporter would make): the stored check says so.
    artifact.details = {**artifact.details, "parity": {**artifact.details["parity"], "passed": False,
                                                       "max_abs_diff": 0.31, "top1_agreement": 0.5}}
    artifact.save()
    page = owner_client.get(f"/classify/models/run/{run.pk}/").content.decode()
    assert "parity FAILED" in page and "3.10e-01" in page and "top-1 agreement 50%" in page


def test_a_second_export_replaces_the_first(owner_client, run):
    first = export(owner_client, run, "onnx")
    run_export(first.pk)
    second = export(owner_client, run, "onnx")
    run_export(second.pk)
    assert list(ModelArtifact.objects.filter(run=run, kind="onnx")) == [second]


def test_the_api_exports_and_lists(api_client, owner, outsider, run):
    api_client.force_authenticate(owner)
    response = api_client.post("/api/classify/exports/", {"run": run.pk, "format": "onnx"}, format="json")
    assert response.status_code == 202, response.content
    run_export(response.json()["id"])
    body = api_client.get(f"/api/classify/exports/{response.json()['id']}/").json()
    assert body["state"] == "done" and body["parity"]["passed"] is True
    assert api_client.get(body["download"]).status_code == 200
    api_client.force_authenticate(outsider)
    assert api_client.get("/api/classify/exports/").json()["results"] == []
    assert api_client.get(f"/api/classify/exports/{body['id']}/").status_code == 404
    assert api_client.post("/api/classify/exports/", {"run": run.pk, "format": "onnx"},
                           format="json").status_code == 404
