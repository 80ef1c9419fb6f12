"""Quick test through the real worker: top-k with previews, and a second request reuses the loaded model."""

import base64
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from tests import hostile_files as h
from tests.factories import FEW, colour_image, make_version, png, saved_run

pytestmark = [pytest.mark.slow, pytest.mark.smoke]


@pytest.fixture
def worker_run(owner, worker):
    """A saved tiny run in the shared media folder the worker reads."""
    return saved_run(owner, make_version(owner, name="Colours", per_split=FEW))


def quick(client, run, *files):
    uploads = [SimpleUploadedFile(name, data) for name, data in files]
    return client.post("/classify/quick/", {"model": f"run:{run.pk}", "images": uploads},
                       HTTP_ACCEPT="application/json")


def test_it_answers_top_classes_and_reuses_the_model(owner_client, worker_run, worker):
    first = quick(owner_client, worker_run, ("red.png", png(colour_image("red"))))
    assert first.status_code == 200, first.content
    second = quick(owner_client, worker_run, ("blue.png", png(colour_image("blue"))),
                   ("broken.jpg", h.truncated_jpeg()))
    assert second.status_code == 200, second.content
    one, two = first.json(), second.json()
    top = one["images"][0]["top"]
    assert [t["name"] for t in top] != [] and {t["name"] for t in top} == {"red", "green", "blue"}
    assert sum(t["probability"] for t in top) == pytest.approx(1.0, abs=1e-4)  # 3 classes: top-5 is all of them
    assert top == sorted(top, key=lambda t: -t["probability"])
    preview = Image.open(io.BytesIO(base64.b64decode(one["images"][0]["preview"].split(",", 1)[1])))
    assert preview.size == (16, 16)  # the image as the 16 px model sees it
    # The worker loaded the weights once: the second answer came from its cache.
    assert two["cache"]["hit"] is True
    assert two["cache"]["loads"] == one["cache"]["loads"]
    assert two["images"][1]["error"] == "file is truncated: the image data ends early"
    assert two["images"][0]["top"] and not two["images"][0]["error"]


def test_the_api_predicts_one_image(api_client, owner, worker_run, worker):
    api_client.force_authenticate(owner)
    response = api_client.post("/api/classify/predict/", {
        "model": f"run:{worker_run.pk}", "image": SimpleUploadedFile("g.png", png(colour_image("green"))),
        "top_k": 2}, format="multipart")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["filename"] == "g.png" and len(body["top_k"]) == 2
    assert body["model"]["ref"] == f"run:{worker_run.pk}"
