"""Feature maps per convolution stage (conv1 ... conv5), channel grids, and first-layer filters."""

import pytest
import torch
from torchvision.models.vgg import cfgs, make_layers

from classifier import build_network, create_model
from classifier.architectures.vgg import SmallVGG
from classifier.explain import channel_grid, conv_stages, feature_maps, filter_grid, first_layer_filters


@pytest.mark.parametrize(
    "name, size, shapes",
    [
        # ResNet: the stem, then layer1..4 (the small variant keeps 32 px through its stem).
        ("resnet18_small", 32, [(64, 32, 32), (64, 32, 32), (128, 16, 16), (256, 8, 8), (512, 4, 4)]),
        # ImageNet ResNet: the stem halves the image, its max-pool halves it again before layer1.
        ("resnet18", 64, [(64, 32, 32), (64, 16, 16), (128, 8, 8), (256, 4, 4), (512, 2, 2)]),
        # VGG: each block before its max-pool.
        ("vgg11_bn_small", 32, [(64, 32, 32), (128, 16, 16), (256, 8, 8), (512, 4, 4), (512, 2, 2)]),
        # ImageNet VGG's layout (a max-pool after the last block too), without its 100M-weight head.
        ("vgg11_bn_features", 64, [(64, 64, 64), (128, 32, 32), (256, 16, 16), (512, 8, 8), (512, 4, 4)]),
        # The default layer spec: three conv groups.
        ("custom", 32, [(32, 32, 32), (64, 16, 16), (128, 8, 8)]),
    ],
)
def test_it_returns_each_stage_in_order(name, size, shapes):
    torch.manual_seed(0)
    if name == "vgg11_bn_features":
        model = SmallVGG(make_layers(cfgs["A"], batch_norm=True), num_classes=3)
    else:
        model = create_model(name, num_classes=3, image_size=size)

    stages = feature_maps(model, torch.randn(3, size, size))

    assert [stage for stage, _ in stages] == [f"conv{i + 1}" for i in range(len(shapes))]
    assert [tuple(a.shape) for _, a in stages] == shapes
    assert sum(len(m._forward_hooks) for m in model.modules()) == 0


def test_stem_activations_are_the_relu_output():
    model = create_model("resnet18_small", num_classes=3, image_size=16).eval()
    image = torch.randn(1, 3, 16, 16)

    (_, stem), *_ = feature_maps(model, image)

    with torch.no_grad():
        expected = torch.relu(model.bn1(model.conv1(image)))[0]
    assert torch.allclose(stem, expected, atol=1e-6)


def test_each_conv_starts_a_group_in_a_layer_spec():
    conv = {"type": "conv", "channels": 4}
    spec = [conv, {"type": "relu"}, conv, {"type": "batchnorm"}, {"type": "relu"}, {"type": "maxpool"},
            conv, {"type": "flatten"}]
    model = build_network(spec, num_classes=2, image_size=8)

    assert conv_stages(model) == [("conv1", "2"), ("conv2", "5"), ("conv3", "7")]
    assert [tuple(a.shape) for _, a in feature_maps(model, torch.randn(3, 8, 8))] == [(4, 8, 8), (4, 8, 8), (4, 4, 4)]


def test_a_vit_has_no_conv_stages():
    with pytest.raises(ValueError, match="ViT"):
        conv_stages(create_model("vit_tiny", num_classes=3, image_size=16))


def test_channel_grid_tiles_the_first_channels_each_on_its_own_scale():
    activations = torch.arange(10 * 4 * 4, dtype=torch.float32).reshape(10, 4, 4)
    activations[1] *= 1000  # a loud channel must not drown the others

    grid = channel_grid(activations, count=9, pad=1)

    assert grid.shape == (3 * 5 - 1, 3 * 5 - 1)  # 3x3 tiles of 4 px with 1 px between
    assert grid.min() == 0 and grid.max() == 1
    first, second = grid[0:4, 0:4], grid[0:4, 5:9]
    assert torch.allclose(first, second)  # both are ramps, stretched alike
    assert first[0, 0] == 0 and first[3, 3] == 1


def test_first_layer_filters_are_rgb_images_normalised_per_filter():
    model = create_model("resnet18", num_classes=3, image_size=32)

    filters = first_layer_filters(model)

    assert filters.shape == (64, 3, 7, 7)
    flat = filters.reshape(64, -1)
    assert torch.all(flat.amin(dim=1) == 0) and torch.allclose(flat.amax(dim=1), torch.ones(64))
    grid = filter_grid(filters, count=16, columns=8)
    assert grid.shape == (3, 2 * 8 - 1, 8 * 8 - 1)
