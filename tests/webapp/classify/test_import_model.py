"""Importing weights: files that fit become models; every kind of bad file is refused beside the file field."""

import io
import os
import pickle
from pathlib import Path

import pytest
import torch
from django.core.files.uploadedfile import SimpleUploadedFile

from classifier.presets import EvalPreset
from classifier.weights import ModelCard, save_model
from tests.factories import TINY_SPEC, tiny_model

URL = "/classify/models/import/"
MARKER = Path("/tmp") / f"lux-evil-pickle-ran-{os.getpid()}"


class RunsCode:
    """An object whose unpickling would create MARKER: proof that a loader ran the pickle's code."""

    def __reduce__(self):
        return (Path.touch, (MARKER,))


def state_dict_bytes(model) -> bytes:
    out = io.BytesIO()
    torch.save(model.state_dict(), out)
    return out.getvalue()


def resnet_pth(num_classes=10) -> bytes:
    return state_dict_bytes(tiny_model("resnet18_small", num_classes=num_classes, image_size=32))


def post(client, data: bytes, filename: str, **fields):
    form = {"name": "imported", "file": SimpleUploadedFile(filename, data), **fields}
    return client.post(URL, form)


@pytest.fixture(autouse=True)
def _no_marker():
    MARKER.unlink(missing_ok=True)
    yield
    MARKER.unlink(missing_ok=True)


def test_it_imports_a_state_dict_for_an_architecture(owner_client, media):
    from webapp.classify.models import ImportedModel

    response = post(owner_client, resnet_pth(3), "finetuned.pth", arch="resnet18_small",
                    class_names="cat\ndog\nfox", image_size=32)
    model = ImportedModel.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/classify/models/imported/{model.pk}/"
    assert (model.arch, model.class_names, model.image_size, model.original_format) == \
        ("resnet18_small", ["cat", "dog", "fox"], 32, "pth")
    assert (media / model.file.name).is_file()
    card = owner_client.get(response["Location"])
    assert b"resnet18_small" in card.content and b"fox" in card.content


def test_it_takes_everything_from_a_lux_file(owner_client, media, tmp_path):
    from webapp.classify.models import ImportedModel

    path = tmp_path / "lux.safetensors"
    card = ModelCard(arch="custom", num_classes=2, class_names=["yes", "no"], image_size=16,
                     preset=EvalPreset(size=16).to_dict(), spec=TINY_SPEC)
    save_model(path, tiny_model(num_classes=2), card)
    response = post(owner_client, path.read_bytes(), "lux.safetensors")
    assert response.status_code == 302, response.content.decode()
    model = ImportedModel.objects.get()
    assert (model.arch, model.class_names, model.spec, model.original_format) == \
        ("custom", ["yes", "no"], TINY_SPEC, "safetensors")


def test_it_imports_weights_of_a_custom_network(owner_client, owner, media):
    from webapp.classify.models import ImportedModel
    from webapp.runs.models import CustomNetwork

    network = CustomNetwork.objects.create(owner=owner, name="mine", spec=TINY_SPEC, image_size=16)
    data = state_dict_bytes(tiny_model(num_classes=2))
    response = post(owner_client, data, "mine.pth", network=network.pk, class_names="left, right")
    assert response.status_code == 302, response.content.decode()
    assert ImportedModel.objects.get().network == network


BAD_FILES = {
    "wrong architecture": (lambda: resnet_pth(3), "w.pth", {"arch": "vgg11_bn_small", "class_names": "a\nb\nc",
                                                           "image_size": 32},
                           ["do not fit vgg11_bn_small", "look like resnet18_small"]),
    "wrong number of classes": (lambda: resnet_pth(10), "w.pth", {"arch": "resnet18_small",
                                                                  "class_names": "a\nb\nc", "image_size": 32},
                                ["expects 3 classes, file has 10"]),
    "pickle of an object": (lambda: pickle.dumps(RunsCode(), protocol=2), "evil.pth",
                            {"arch": "resnet18_small", "class_names": "a", "image_size": 32},
                            ["pickle of arbitrary objects", "only loads plain tensors"]),
    "torch.save of an object": (lambda: _torch_saved({"model": RunsCode()}), "evil.pt",
                                {"arch": "resnet18_small", "class_names": "a", "image_size": 32},
                                ["pickle of arbitrary objects"]),
    "corrupt bytes": (lambda: os.urandom(400), "junk.pth", {"arch": "resnet18_small", "class_names": "a"},
                      ["not a safetensors or PyTorch weights file"]),
    "cut-short file": (lambda: resnet_pth(2)[:5000], "half.pth", {"arch": "resnet18_small", "class_names": "a\nb"},
                       ["corrupt or incomplete"]),
    "empty file": (lambda: b"", "empty.pth", {"arch": "resnet18_small", "class_names": "a"}, ["file is empty"]),
    "not a weights suffix": (lambda: resnet_pth(2), "model.zip", {"arch": "resnet18_small", "class_names": "a\nb"},
                             [".safetensors file or a PyTorch state dict"]),
}


def _torch_saved(obj) -> bytes:
    out = io.BytesIO()
    torch.save(obj, out)
    return out.getvalue()


@pytest.mark.parametrize("kind", BAD_FILES)
def test_it_refuses_bad_weights_beside_the_file_field(owner_client, media, kind):
    from webapp.classify.models import ImportedModel

    make, filename, fields, phrases = BAD_FILES[kind]
    response = post(owner_client, make(), filename, **fields)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert list(errors) == ["file"], errors
    for phrase in phrases:
        assert phrase in errors["file"][0], errors["file"][0]
    assert not ImportedModel.objects.exists()
    assert not any((media / "classify").rglob("*.safetensors")) if (media / "classify").exists() else True
    assert not MARKER.exists(), "the pickle's code ran"


def test_it_needs_class_names_and_an_architecture_for_a_plain_state_dict(owner_client, media):
    response = post(owner_client, resnet_pth(2), "w.pth")
    assert response.status_code == 400
    assert "architecture" in response.context["form"].errors["arch"][0]


def test_the_api_reports_the_field_at_fault(api_client, owner, media):
    api_client.force_authenticate(owner)
    response = api_client.post("/api/classify/imported-models/", {
        "name": "x", "file": SimpleUploadedFile("w.pth", resnet_pth(10)), "arch": "resnet18_small",
        "class_names": "a\nb", "image_size": 32}, format="multipart")
    assert response.status_code == 400
    assert "expects 2 classes, file has 10" in response.json()["file"][0]


def test_the_api_imports_lists_and_deletes(api_client, owner, outsider, media):
    api_client.force_authenticate(owner)
    created = api_client.post("/api/classify/imported-models/", {
        "name": "r18", "file": SimpleUploadedFile("w.pth", resnet_pth(2)), "arch": "resnet18_small",
        "class_names": "a\nb", "image_size": 32}, format="multipart")
    assert created.status_code == 201, created.content
    model_id = created.json()["id"]
    assert created.json()["ref"] == f"imported:{model_id}"
    assert [m["id"] for m in api_client.get("/api/classify/imported-models/").json()["results"]] == [model_id]
    api_client.force_authenticate(outsider)
    assert api_client.get(f"/api/classify/imported-models/{model_id}/").status_code == 404
    assert api_client.delete(f"/api/classify/imported-models/{model_id}/").status_code == 404
    api_client.force_authenticate(owner)
    assert api_client.delete(f"/api/classify/imported-models/{model_id}/").status_code == 204
    assert not any((media / "classify" / "models").iterdir())
