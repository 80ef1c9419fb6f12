"""The jobs API: create from uploads, a ZIP or a dataset version; add files, start, status, results, downloads."""

import csv
import io

from django.core.files.uploadedfile import SimpleUploadedFile

from tests import hostile_files as h
from tests.factories import colour_image, png
from webapp.classify.worker.jobs import execute_job


def files(n, start=0):
    return [SimpleUploadedFile(f"{i}.png", png(colour_image("blue", seed=i))) for i in range(start, start + n)]


def test_a_job_from_uploads(api_client, owner, run):
    api_client.force_authenticate(owner)
    created = api_client.post("/api/classify/jobs/", {"model": f"run:{run.pk}", "files": files(2), "start": False,
                                                      "top_k": 2}, format="multipart")
    assert created.status_code == 201, created.content
    job = created.json()
    assert (job["status"], job["total"], job["source"]) == ("pending", 2, "upload")
    more = api_client.post(f"/api/classify/jobs/{job['id']}/files/", {"files": files(2, start=2)},
                           format="multipart")
    assert more.json()["total"] == 4
    assert api_client.post(f"/api/classify/jobs/{job['id']}/start/").json()["status"] == "queued"
    assert execute_job(job["id"], worker="here") == "succeeded"
    status = api_client.get(f"/api/classify/jobs/{job['id']}/").json()
    assert status["progress"]["done"] == 4 and status["progress"]["finished"] is True
    results = api_client.get(f"/api/classify/jobs/{job['id']}/results/").json()
    assert results["count"] == 4 and len(results["results"][0]["top_k"]) == 2
    some = results["results"][0]["top_k"][0]["index"]
    only = api_client.get(f"/api/classify/jobs/{job['id']}/results/?class={some}").json()
    assert only["count"] >= 1 and all(r["top_k"][0]["index"] == some for r in only["results"])
    download = api_client.get(f"/api/classify/jobs/{job['id']}/download/csv/")
    rows = list(csv.reader(io.StringIO(b"".join(download.streaming_content).decode())))
    assert len(rows) == 5 and rows[0][:3] == ["filename", "class_1", "probability_1"]
    assert api_client.post(f"/api/classify/jobs/{job['id']}/files/", {"files": files(1)},
                           format="multipart").status_code == 409


def test_a_job_from_a_zip_and_one_from_a_version(api_client, owner, run, version):
    api_client.force_authenticate(owner)
    zipped = api_client.post("/api/classify/jobs/", {"model": f"run:{run.pk}", "archive": SimpleUploadedFile(
        "a.zip", h.imagefolder_zip())}, format="multipart")
    assert zipped.status_code == 201 and zipped.json()["total"] == 4
    versioned = api_client.post("/api/classify/jobs/", {"model": f"run:{run.pk}", "version": version.pk,
                                                        "split": "val"}, format="multipart")
    assert versioned.status_code == 201, versioned.content
    assert execute_job(versioned.json()["id"], worker="here") == "succeeded"
    body = api_client.get(f"/api/classify/jobs/{versioned.json()['id']}/").json()
    assert body["evaluation"] is not None and body["links"]["evaluation"] == f"/runs/evaluations/{body['evaluation']}/"


def test_create_needs_exactly_one_source(api_client, owner, run):
    api_client.force_authenticate(owner)
    response = api_client.post("/api/classify/jobs/", {"model": f"run:{run.pk}"}, format="multipart")
    assert response.status_code == 400
    bad_zip = api_client.post("/api/classify/jobs/", {"model": f"run:{run.pk}", "archive": SimpleUploadedFile(
        "a.zip", h.not_a_zip())}, format="multipart")
    assert bad_zip.status_code == 400 and "not a ZIP" in bad_zip.json()["archive"][0]


def test_the_schema_documents_the_classification_api(api_client, owner):
    api_client.force_authenticate(owner)
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    for path in ("/api/classify/predict/", "/api/classify/jobs/", "/api/classify/jobs/{id}/results/",
                 "/api/classify/jobs/{id}/download/{fmt}/", "/api/classify/imported-models/",
                 "/api/classify/exports/", "/api/classify/explanations/",
                 "/api/classify/explanations/{id}/png/{kind}/", "/api/classify/models/"):
        assert path in schema["paths"], path
    assert "multipart/form-data" in schema["paths"]["/api/classify/predict/"]["post"]["requestBody"]["content"]
