"""Explanations: Grad-CAM (or attention rollout) over the image, feature maps per stage, filters, as PNGs."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from tests.factories import colour_image, png, saved_run
from webapp.classify.models import Explanation, ExplanationStatus
from webapp.classify.worker.explain import run_explanation


def explain(client, run, data=None):
    data = data or png(colour_image("green", size=40))
    response = client.post("/classify/explain/", {"model": f"run:{run.pk}",
                                                  "image": SimpleUploadedFile("leaf.png", data)})
    assert response.status_code == 302, response.content.decode()[:2000]
    explanation = Explanation.objects.latest("pk")
    assert run_explanation(explanation.pk) == "succeeded"  # what the worker does
    explanation.refresh_from_db()
    return explanation


def picture(client, explanation, kind) -> Image.Image:
    response = client.get(f"/classify/explanations/{explanation.pk}/{kind}.png")
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    return Image.open(io.BytesIO(b"".join(response.streaming_content)))


@pytest.mark.parametrize("arch, size, stages", [
    ("custom", 16, ["conv1", "conv2"]),
    ("resnet18_small", 32, ["conv1", "conv2", "conv3", "conv4", "conv5"]),
    ("vgg11_bn_small", 32, ["conv1", "conv2", "conv3", "conv4", "conv5"]),
])
def test_a_cnn_gets_grad_cam_feature_maps_and_filters(owner_client, owner, version, arch, size, stages):
    run = saved_run(owner, version, arch=arch, image_size=size)
    explanation = explain(owner_client, run)
    result = explanation.result
    assert result["method"] == "Grad-CAM" and not result["class_agnostic"]
    assert result["class_index"] == result["top"][0]["index"]
    for kind in ("input", "overlay", "heatmap"):
        assert picture(owner_client, explanation, kind).size == (size, size)
    assert [s["name"] for s in result["stages"]] == stages
    for stage in result["stages"]:
        grid = picture(owner_client, explanation, f"stage-{stage['name']}")
        assert grid.width >= 128  # small grids are scaled up (nearest neighbour) to be seen
    filters = picture(owner_client, explanation, "filters")
    assert filters.mode == "RGB" and filters.width >= 128  # 3x3 filters scaled up (at most 16x)
    page = owner_client.get(f"/classify/explanations/{explanation.pk}/")
    assert page.status_code == 200 and b"Feature maps of each convolution stage" in page.content


def test_a_vit_gets_attention_rollout(owner_client, owner, version):
    run = saved_run(owner, version, arch="vit_tiny", image_size=32)
    explanation = explain(owner_client, run)
    assert explanation.result["method"] == "Attention rollout"
    assert explanation.result["class_agnostic"] and explanation.result["stages"] == []
    assert picture(owner_client, explanation, "overlay").size == (32, 32)
    assert picture(owner_client, explanation, "filters").width >= 128  # the patch embedding's filters


def test_another_class_can_be_explained(owner_client, run):
    explanation = explain(owner_client, run)
    other = (explanation.result["class_index"] + 1) % 3
    before = b"".join(owner_client.get(f"/classify/explanations/{explanation.pk}/heatmap.png").streaming_content)
    owner_client.post(f"/classify/explanations/{explanation.pk}/class/", {"class_index": other})
    explanation.refresh_from_db()
    assert (explanation.status, explanation.class_index) == (ExplanationStatus.QUEUED, other)
    run_explanation(explanation.pk)
    explanation.refresh_from_db()
    assert explanation.result["class_index"] == other
    assert explanation.result["class_name"] == ["red", "green", "blue"][other]
    after = b"".join(owner_client.get(f"/classify/explanations/{explanation.pk}/heatmap.png").streaming_content)
    assert after != before


def test_a_small_vgg_is_explained_through_a_4x4_layer_and_another_can_be_picked(owner_client, owner, version):
    run = saved_run(owner, version, arch="vgg11_bn_small", image_size=32)
    explanation = explain(owner_client, run)
    result = explanation.result
    # At 32 px the last ReLU's map is 2x2 (a wash): the automatic choice is the last one with 4x4 cells.
    assert (result["layer_name"], result["layer_auto"]) == ("features.20", True)
    assert result["layer"] == "features.20 (ReLU, 4×4)"
    offered = {row["name"]: row["size"] for row in result["layers"]}
    assert offered["features.27"] == "2×2" and offered["features.20"] == "4×4" and len(offered) <= 8
    page = owner_client.get(f"/classify/explanations/{explanation.pk}/").content.decode()
    assert '<option value="features.27"' in page and "automatic (features.20, 4×4)" in page

    owner_client.post(f"/classify/explanations/{explanation.pk}/class/", {"class_index": "top", "layer": "features.27"})
    run_explanation(explanation.pk)
    explanation.refresh_from_db()
    assert (explanation.result["layer_name"], explanation.result["layer_auto"]) == ("features.27", False)

    # A layer the page did not offer changes nothing and says why.
    answer = owner_client.post(f"/classify/explanations/{explanation.pk}/class/", {"layer": "features.99"},
                               follow=True)
    assert "Choose one of the layers offered" in answer.content.decode()
    explanation.refresh_from_db()
    assert explanation.layer == "features.27" and explanation.status == ExplanationStatus.SUCCEEDED


def test_an_unreadable_image_fails_with_the_reason(owner_client, run):
    from tests import hostile_files as h

    owner_client.post("/classify/explain/", {"model": f"run:{run.pk}",
                                             "image": SimpleUploadedFile("x.jpg", h.truncated_jpeg())})
    explanation = Explanation.objects.get()
    assert run_explanation(explanation.pk) == "failed"
    explanation.refresh_from_db()
    assert "truncated" in explanation.error
    assert b"truncated" in owner_client.get(f"/classify/explanations/{explanation.pk}/").content


def test_the_api_explains_and_serves_pngs(api_client, owner, outsider, run):
    api_client.force_authenticate(owner)
    response = api_client.post("/api/classify/explanations/", {
        "model": f"run:{run.pk}", "image": SimpleUploadedFile("r.png", png(colour_image("red")))},
        format="multipart")
    # No worker here: created, not computed within the wait, so 202 with the URL to poll.
    assert response.status_code == 202, response.content
    status_url = response.json()["status_url"]
    assert response["Location"] == status_url == f"/api/classify/explanations/{response.json()['id']}/"
    assert "No worker serves the interactive queue" in response.json()["note"]
    assert api_client.get(status_url).json()["status"] == "queued"
    run_explanation(response.json()["id"])
    body = api_client.get(status_url).json()
    assert body["status"] == "succeeded"
    png_url = body["pictures"]["overlay"]
    image = api_client.get(png_url)
    assert image.status_code == 200
    assert Image.open(io.BytesIO(b"".join(image.streaming_content))).size == (16, 16)
    api_client.force_authenticate(outsider)
    assert api_client.get(png_url).status_code == 404
    assert api_client.get(f"/api/classify/explanations/{response.json()['id']}/").status_code == 404


def test_the_api_takes_a_layer_and_refuses_a_malformed_one(api_client, owner, run):
    api_client.force_authenticate(owner)

    def ask(layer):
        return api_client.post("/api/classify/explanations/", {
            "model": f"run:{run.pk}", "layer": layer, "image": SimpleUploadedFile("r.png", png(colour_image("red")))},
            format="multipart")

    bad = ask("features.0; rm -rf /")
    assert bad.status_code == 400 and list(bad.json()) == ["layer"]
    assert not Explanation.objects.exists()

    unknown = ask("no.such.layer")
    assert unknown.status_code == 202 and unknown.json()["layer"] == "no.such.layer"
    assert run_explanation(unknown.json()["id"]) == "failed"
    assert "has no layer 'no.such.layer'" in api_client.get(unknown.json()["status_url"]).json()["error"]
