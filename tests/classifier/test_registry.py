"""The registry names every architecture, describes it, and refuses what cannot work, in words."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from classifier import (
    UnknownModel,
    check_image_size,
    create_model,
    list_models,
    model_info,
    parameter_count,
)
from classifier.architectures.vit import small_patch_size

EXPECTED = {
    "vgg": ["vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn",
            "vgg11_bn_small", "vgg16_bn_small"],
    "resnet": ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnet18_small", "resnet34_small"],
    "vit": ["vit_b_16", "vit_b_32", "vit_l_16", "vit_tiny", "vit_small"],
    "custom": ["custom"],
}


def test_it_lists_every_family():
    for family, names in EXPECTED.items():
        assert sorted(list_models(family)) == sorted(names)
    assert len(list_models()) == sum(len(names) for names in EXPECTED.values())


def test_unknown_names_suggest_close_ones():
    with pytest.raises(UnknownModel, match="resnet18") as error:
        create_model("resnet81", num_classes=10)
    assert isinstance(error.value, KeyError)
    assert "resnet81" in str(error.value)


def test_info_names_the_torchvision_weights_file():
    info = model_info("resnet18")
    assert (info.family, info.default_image_size, info.small) == ("resnet", 224, False)
    assert info.imagenet_weights == "ResNet18_Weights.IMAGENET1K_V1"
    assert info.weights_filename == "resnet18-f37072fd.pth"
    assert model_info("vit_b_16").patch_size == 16
    assert model_info("resnet18_small").imagenet_weights is None
    # The small VGGs keep torchvision's feature layers, so they can start from vgg*_bn's ImageNet file.
    assert model_info("vgg11_bn_small").weights_filename == model_info("vgg11_bn").weights_filename


def test_parameter_count_matches_built_models():
    # Published torchvision figures for the ImageNet heads.
    assert parameter_count("resnet50", num_classes=1000) == 25_557_032
    assert parameter_count("vgg16", num_classes=1000) == 138_357_544
    assert parameter_count("vit_b_16", num_classes=1000) == 86_567_656
    for name in ("resnet18_small", "vit_tiny", "custom", "vgg11_bn_small"):
        built = create_model(name, num_classes=7, image_size=32)
        assert parameter_count(name, num_classes=7, image_size=32) == sum(p.numel() for p in built.parameters())


def test_small_resnet_keeps_the_resolution():
    model = create_model("resnet18_small", num_classes=10, image_size=32).eval()
    features = model.layer4(model.layer3(model.layer2(model.layer1(model.conv1(torch.zeros(1, 3, 32, 32))))))
    assert features.shape[-2:] == (4, 4)  # the ImageNet stem would leave 1x1 here


def test_small_vgg_has_a_global_pool_head():
    model = create_model("vgg16_bn_small", num_classes=10, image_size=32)
    widths = [m.in_features for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert widths == [512]
    assert parameter_count("vgg16_bn_small") < parameter_count("vgg16_bn", image_size=32) / 5


def test_vit_is_built_at_the_requested_size():
    model = create_model("vit_b_16", num_classes=5, image_size=64)
    assert model.encoder.pos_embedding.shape == (1, 1 + 4 * 4, 768)
    assert model(torch.zeros(1, 3, 64, 64)).shape == (1, 5)


@pytest.mark.parametrize("size, patch", [(32, 8), (28, 7), (16, 4), (64, 8), (224, 16), (8, 2)])
def test_small_vit_patch_fits_the_input(size, patch):
    assert small_patch_size(size) == patch
    model = create_model("vit_tiny", num_classes=3, image_size=size)
    assert model.patch_size == patch


@pytest.mark.parametrize(
    "name, size, message",
    [
        ("vit_b_16", 100, "multiple of the 16 px patch; use 96 or 112 px"),
        ("vit_b_32", 16, "at least 32 px"),
        ("vit_tiny", 31, "31 px cannot be cut into a grid of square patches"),
        ("vgg11", 16, "at least 32 px.*vgg11_bn_small"),
        ("resnet18_small", 4, "at least 8 px"),
        ("resnet18", 31.5, "whole number"),
    ],
)
def test_impossible_sizes_are_explained(name, size, message):
    with pytest.raises(ValueError, match=message):
        check_image_size(name, size)
    with pytest.raises(ValueError, match=message):
        create_model(name, num_classes=3, image_size=size)


def test_spec_sizes_are_checked_through_the_registry():
    spec = [{"type": "maxpool", "kernel": 2}] * 3
    check_image_size("custom", 8, spec)
    with pytest.raises(ValueError, match=r"layer 3 \(max-pool 2x2\) would shrink the 1x1 map to 0x0"):
        check_image_size("custom", 4, spec)


def test_it_rejects_bad_requests():
    with pytest.raises(ValueError, match="num_classes"):
        create_model("resnet18_small", num_classes=0)
    with pytest.raises(ValueError, match="only applies to the 'custom'"):
        create_model("resnet18_small", num_classes=3, spec=[{"type": "relu"}])


def test_custom_without_a_spec_is_a_default_cnn():
    model = create_model("custom", num_classes=4)
    assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 4)
    assert model.spec  # saved with the weights, so the network can be rebuilt


def test_importing_it_pulls_in_no_web_framework():
    code = ("import sys, classifier, classifier.factory, classifier.weights, classifier.pretrained; "
            "print([m for m in sys.modules if m.split('.')[0] in ('django', 'rest_framework', 'celery', 'webapp')])")
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root)
    assert result.stdout.strip() == "[]"
