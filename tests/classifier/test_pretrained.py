"""Pretrained weights come from the local torch cache or a user's file, never from the network."""

import pytest
import torch

from classifier import (
    ModelCard,
    PretrainedWeightsMissing,
    available_imagenet_weights,
    create_model,
    imagenet_class_names,
    imagenet_weights_path,
    save_model,
)


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    """Point torch's cache at an empty folder, and make any download attempt fail the test."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))

    def no_downloads(*args, **kwargs):
        raise AssertionError("Lux tried to download weights")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_downloads)
    monkeypatch.setattr(torch.hub, "download_url_to_file", no_downloads)
    return tmp_path / "torch" / "hub" / "checkpoints"


def test_missing_imagenet_weights_name_the_file_and_folder(torch_home):
    assert imagenet_weights_path("resnet18") == torch_home / "resnet18-f37072fd.pth"
    with pytest.raises(PretrainedWeightsMissing) as error:
        create_model("resnet18", num_classes=10, pretrained="imagenet")
    message = str(error.value)
    assert "resnet18-f37072fd.pth" in message and str(torch_home) in message and "never downloads" in message
    assert isinstance(error.value, FileNotFoundError)


def test_architectures_without_imagenet_weights_say_so(torch_home):
    with pytest.raises(PretrainedWeightsMissing, match="resnet18_small has no ImageNet weights; .*resnet18"):
        create_model("resnet18_small", num_classes=10, pretrained="imagenet")


def test_imagenet_weights_load_from_the_cache_with_a_new_head(torch_home):
    torch_home.mkdir(parents=True)
    imagenet = create_model("resnet18", num_classes=1000).state_dict()
    torch.save(imagenet, torch_home / "resnet18-f37072fd.pth")
    assert available_imagenet_weights() == {"resnet18": torch_home / "resnet18-f37072fd.pth"}

    model = create_model("resnet18", num_classes=10, image_size=32, pretrained="imagenet")
    assert torch.equal(model.conv1.weight, imagenet["conv1.weight"])
    assert torch.equal(model.layer4[1].bn2.running_var, imagenet["layer4.1.bn2.running_var"])
    assert model.fc.weight.shape == (10, 512)
    assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 10)
    same_classes = create_model("resnet18", num_classes=1000, pretrained=True)
    assert torch.equal(same_classes.fc.weight, imagenet["fc.weight"])  # a head that fits is kept


def test_small_vgg_starts_from_the_imagenet_features(torch_home):
    torch_home.mkdir(parents=True)
    features = create_model("vgg11_bn_small", num_classes=3).features.state_dict()
    # The ImageNet file's 4096-wide classifier is skipped, so tiny stand-ins for it are enough here.
    stored = {f"features.{k}": v for k, v in features.items()}
    stored |= {f"classifier.{i}.{p}": torch.zeros(2) for i in (0, 3, 6) for p in ("weight", "bias")}
    torch.save(stored, torch_home / "vgg11_bn-6002323d.pth")
    model = create_model("vgg11_bn_small", num_classes=7, pretrained="imagenet")
    assert torch.equal(model.features[0].weight, stored["features.0.weight"])
    assert model.classifier[-1].out_features == 7


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_a_users_file_fine_tunes_for_other_classes(tmp_path, torch_home, suffix):
    source = create_model("resnet18_small", num_classes=10, image_size=16)
    path = tmp_path / f"mine{suffix}"
    if suffix == ".pth":
        torch.save({"model": source.state_dict(), "epoch": 9}, path)
    else:
        card = ModelCard(arch="resnet18_small", num_classes=10, class_names=list("abcdefghij"), image_size=16,
                         preset={}, spec=None, extra={})
        save_model(path, source, card)
    model = create_model("resnet18_small", num_classes=4, image_size=16, pretrained=path)
    assert torch.equal(model.layer3[0].conv1.weight, source.layer3[0].conv1.weight)
    assert model.fc.out_features == 4


def test_a_missing_users_file_is_explained(tmp_path, torch_home):
    with pytest.raises(PretrainedWeightsMissing, match="no weights file at .*nowhere.pth"):
        create_model("resnet18_small", num_classes=4, pretrained=tmp_path / "nowhere.pth")


def test_vit_position_embeddings_follow_the_image_size(tmp_path, torch_home):
    source = create_model("vit_tiny", num_classes=10, image_size=32)  # patch 8: a 4x4 grid
    torch.save(source.state_dict(), tmp_path / "vit.pth")
    model = create_model("vit_tiny", num_classes=3, image_size=64, pretrained=tmp_path / "vit.pth")  # 8x8
    positions = model.encoder.pos_embedding
    assert positions.shape == (1, 1 + 64, 128)
    assert torch.equal(positions[:, :1], source.encoder.pos_embedding[:, :1])  # the class token's own
    assert torch.equal(model.conv_proj.weight, source.conv_proj.weight)
    assert model(torch.zeros(1, 3, 64, 64)).shape == (1, 3)


def test_imagenet_class_names_ship_with_torchvision():
    names = imagenet_class_names()
    assert len(names) == 1000 and names[0] == "tench"
