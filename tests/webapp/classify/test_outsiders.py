"""Every classification page and endpoint answers 404 to someone outside the owner's team."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.factories import colour_image, png
from webapp.classify.models import ClassificationJob, Explanation, ImportedModel, JobSource, JobStatus, Prediction
from webapp.classify.services.exports import request_export
from webapp.classify.worker.explain import run_explanation
from webapp.classify.worker.export import run_export


@pytest.fixture
def things(owner, run, media):
    job = ClassificationJob.objects.create(owner=owner, model_ref=f"run:{run.pk}", model_label="tiny",
                                           source=JobSource.UPLOAD, status=JobStatus.SUCCEEDED, total=1, done=1,
                                           class_names=["red", "green", "blue"])
    (media / "thumb.webp").write_bytes(b"RIFF")
    (media / "input.png").write_bytes(png(colour_image("red")))
    Prediction.objects.create(job=job, position=0, name="a.png", predicted_index=0, confidence=0.9,
                              topk=[[0, 0.9]], thumbnail="thumb.webp", source="input.png")
    pending = ClassificationJob.objects.create(owner=owner, model_ref=f"run:{run.pk}", model_label="tiny",
                                               source=JobSource.UPLOAD)
    explanation = Explanation.objects.create(owner=owner, model_ref=f"run:{run.pk}", model_label="tiny",
                                             image="input.png")
    run_explanation(explanation.pk)
    export = request_export(run, "onnx", user=owner)
    run_export(export.pk)
    from classifier.presets import EvalPreset

    imported = ImportedModel.objects.create(owner=owner, name="imp", arch="custom", class_names=["a"],
                                            image_size=16, preset=EvalPreset(size=16).to_dict(), file="x",
                                            original_format="pth", sha256="0")
    return {"run": run, "job": job, "pending": pending, "explanation": explanation, "export": export,
            "imported": imported, "weights": run.artifacts.get(kind="weights")}


PAGES = [
    "/classify/jobs/{job}/", "/classify/jobs/{job}/status.json", "/classify/jobs/{job}/results.csv",
    "/classify/jobs/{job}/results.json", "/classify/jobs/{job}/thumbs/0/",
    "/classify/models/run/{run}/", "/classify/models/imported/{imported}/", "/classify/runs/{run}/exports.json",
    "/classify/artifacts/{weights}/download/", "/classify/artifacts/{export}/download/",
    "/classify/explanations/{explanation}/", "/classify/explanations/{explanation}/status.json",
    "/classify/explanations/{explanation}/overlay.png",
]
ACTIONS = [
    "/classify/jobs/{pending}/files/", "/classify/jobs/{pending}/start/", "/classify/jobs/{pending}/cancel/",
    "/classify/jobs/{job}/delete/", "/classify/jobs/{job}/results/0/explain/",
    "/classify/models/imported/{imported}/delete/", "/classify/runs/{run}/export/onnx/",
    "/classify/explanations/{explanation}/class/",
]
API_GETS = [
    "/api/classify/jobs/{job}/", "/api/classify/jobs/{job}/results/", "/api/classify/jobs/{job}/download/csv/",
    "/api/classify/imported-models/{imported}/", "/api/classify/exports/{export}/",
    "/api/classify/exports/{export}/download/", "/api/classify/explanations/{explanation}/",
    "/api/classify/explanations/{explanation}/png/overlay/",
]
API_POSTS = ["/api/classify/jobs/{pending}/start/", "/api/classify/jobs/{pending}/cancel/",
             "/api/classify/jobs/{pending}/files/"]


def url(template, things):
    return template.format(**{k: v.pk for k, v in things.items()})


def test_pages_are_404_for_an_outsider_and_200_for_the_owner(client, owner, outsider, things):
    client.force_login(outsider)
    for template in PAGES:
        assert client.get(url(template, things)).status_code == 404, template
    for template in ACTIONS:
        assert client.post(url(template, things)).status_code == 404, template
    client.force_login(owner)
    for template in PAGES:
        assert client.get(url(template, things)).status_code == 200, template


def test_api_endpoints_are_404_for_an_outsider(api_client, owner, outsider, things):
    api_client.force_authenticate(outsider)
    for template in API_GETS:
        assert api_client.get(url(template, things)).status_code == 404, template
    for template in API_POSTS:
        assert api_client.post(url(template, things)).status_code == 404, template
    assert api_client.delete(url("/api/classify/jobs/{job}/", things)).status_code == 404
    for listing in ("jobs", "imported-models", "exports", "explanations"):
        assert api_client.get(f"/api/classify/{listing}/").json()["results"] == [], listing
    api_client.force_authenticate(owner)
    for template in API_GETS:
        assert api_client.get(url(template, things)).status_code == 200, template


def test_an_outsider_cannot_start_a_job_with_the_owners_model(api_client, outsider, things):
    api_client.force_authenticate(outsider)
    response = api_client.post("/api/classify/jobs/", {
        "model": f"run:{things['run'].pk}", "files": [SimpleUploadedFile("a.png", png(colour_image("red")))]},
        format="multipart")
    assert response.status_code == 404
    response = api_client.post("/api/classify/jobs/", {"model": "run:1", "version": things["run"].version_id},
                               format="multipart")
    assert response.status_code == 404


def test_signed_out_visitors_are_sent_to_sign_in_or_get_401(client, api_client, things):
    assert client.get("/classify/").status_code == 302
    assert client.get(url("/classify/jobs/{job}/", things))["Location"].startswith("/accounts/login/")
    assert api_client.get("/api/classify/jobs/").status_code == 401
    assert api_client.post("/api/classify/predict/").status_code == 401
