"""Models to classify with: references resolve only for those who may see them; ImageNet when its file is here."""

import pytest
import torch
from django.core.files.uploadedfile import SimpleUploadedFile

from classifier.factory import create_model
from tests.factories import colour_image, png
from webapp.classify.services.refs import ModelRef, UnknownModelRef, choices, resolve


@pytest.fixture
def imagenet_cache(tmp_path, monkeypatch):
    """A torch cache holding a (random) resnet18 ImageNet weights file under torchvision's name for it."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    folder = tmp_path / "torch" / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    torch.manual_seed(0)
    torch.save(create_model("resnet18", num_classes=1000).state_dict(), folder / "resnet18-f37072fd.pth")
    return folder


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))


@pytest.mark.parametrize("text", ["", "run", "run:", "run:x", "model:3", "imported:-1", "imagenet:"])
def test_malformed_references_do_not_exist(text):
    with pytest.raises(UnknownModelRef):
        ModelRef.parse(text)


def test_a_run_resolves_for_its_owner_and_team_only(owner, teammate, outsider, run):
    assert resolve(owner, f"run:{run.pk}").path == run.artifacts.get().path
    assert resolve(teammate, f"run:{run.pk}").ref == f"run:{run.pk}"
    with pytest.raises(UnknownModelRef):
        resolve(outsider, f"run:{run.pk}")
    assert choices(outsider) == []


def test_a_run_without_weights_is_not_offered(owner, run):
    run.artifacts.all().delete()
    with pytest.raises(UnknownModelRef):
        resolve(owner, f"run:{run.pk}")


def test_imagenet_models_are_offered_when_their_file_is_cached(owner_client, owner, imagenet_cache, eager):
    assert ("imagenet:resnet18", "resnet18 · ImageNet (1000 classes)") in [o for _, opts in choices(owner)
                                                                           for o in opts]
    page = owner_client.get("/classify/")
    assert b'value="imagenet:resnet18"' in page.content and b"imagenet-help" not in page.content
    answer = owner_client.post("/classify/quick/", {
        "model": "imagenet:resnet18", "images": [SimpleUploadedFile("x.png", png(colour_image("red", size=64)))]},
        HTTP_ACCEPT="application/json").json()
    assert answer["model"]["classes"] == 1000 and answer["model"]["image_size"] == 224
    assert len(answer["images"][0]["top"]) == 5
    from classifier.pretrained import imagenet_class_names

    names = imagenet_class_names()
    assert all(t["name"] == names[t["index"]] for t in answer["images"][0]["top"])
    card = owner_client.get("/classify/models/imagenet/resnet18/")
    assert card.status_code == 200 and b"tench" in card.content


def test_the_page_says_which_file_to_put_where_without_imagenet_weights(owner_client, empty_cache, tmp_path):
    content = owner_client.get("/classify/").content.decode()
    assert "resnet18-f37072fd.pth" in content
    assert str(tmp_path / "torch" / "hub" / "checkpoints") in content
    assert owner_client.get("/classify/models/imagenet/resnet18/").status_code == 404


def test_the_model_card_tells_everything_about_a_run(owner_client, run):
    from webapp.runs.models import Evaluation

    Evaluation.objects.create(run=run, version=run.version, split="test", class_names=["red", "green", "blue"],
                              num_samples=9, top1=0.777, top5=1.0, macro_f1=0.7, ece=0.05, metrics={})
    content = owner_client.get(f"/classify/models/run/{run.pk}/").content.decode()
    for expected in ("custom", "Parameters", "red", "green", "blue", "Centre crop", "16 × 16 px", "77.7%",
                     str(run.version), "batch_size", "torchvision", "onnxruntime", "Export to ONNX",
                     "Export to TorchScript", f"/classify/artifacts/{run.artifacts.get().pk}/download/"):
        assert expected in content, expected


def test_the_models_api_lists_references(api_client, owner, outsider, run):
    api_client.force_authenticate(owner)
    rows = api_client.get("/api/classify/models/").json()
    assert {"ref": f"run:{run.pk}", "label": rows[0]["label"], "group": "Training runs"} in rows
    api_client.force_authenticate(outsider)
    assert api_client.get("/api/classify/models/").json() == []
