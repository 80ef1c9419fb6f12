"""Grad-CAM: a heatmap at input resolution in [0, 1] for each CNN family, leaving the model as it was."""

import pytest
import torch

from classifier import create_model
from classifier.explain import CamLayer, cam_layers, choose_layer, grad_cam


def total_hooks(model) -> int:
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks) for m in model.modules())


@pytest.mark.parametrize(
    "name, size, expected_layer",
    [
        ("resnet18_small", 32, "layer4.1.relu"),  # after the last residual sum (4x4)
        ("resnet18", 224, "layer4.1.relu"),  # 7x7
        ("resnet18", 64, "layer3.1.relu"),  # layer4 is 2x2 here: the last block with 4x4 cells
        ("vgg11_bn_small", 32, "features.20"),  # the last ReLU at 4x4, not features.27 at 2x2
        ("custom", 32, "11"),  # default spec: the third conv group's ReLU, before the global pool
    ],
)
def test_it_returns_a_normalised_map_at_input_resolution(name, size, expected_layer):
    torch.manual_seed(0)
    model = create_model(name, num_classes=5, image_size=size)
    image = torch.randn(3, size, size)

    result = grad_cam(model, image)

    assert result.heatmap.shape == (size, size)
    assert result.heatmap.dtype == torch.float32
    assert result.heatmap.min() >= 0 and result.heatmap.max() == 1
    assert result.layer == expected_layer
    with torch.no_grad():
        assert result.class_index == int(model.eval()(image[None]).argmax())


def test_it_leaves_no_hooks_no_grads_and_the_training_mode_as_it_was():
    torch.manual_seed(0)
    model = create_model("resnet18_small", num_classes=3, image_size=16).train()
    running_mean = model.bn1.running_mean.clone()

    grad_cam(model, torch.randn(1, 3, 16, 16))

    assert total_hooks(model) == 0
    assert all(p.grad is None for p in model.parameters())
    assert model.training
    assert torch.equal(model.bn1.running_mean, running_mean)  # it ran in eval mode: no statistics moved


def test_it_explains_a_chosen_class_differently_from_the_top_class():
    torch.manual_seed(0)
    model = create_model("custom", num_classes=4, image_size=16)
    image = torch.randn(3, 16, 16)
    top = grad_cam(model, image)
    other = (top.class_index + 1) % 4

    chosen = grad_cam(model, image, class_index=other)

    assert chosen.class_index == other
    assert chosen.score != top.score
    assert not torch.allclose(chosen.heatmap, top.heatmap)


def test_it_accepts_an_explicit_layer_by_name_or_module():
    torch.manual_seed(0)
    model = create_model("resnet18_small", num_classes=3, image_size=16)
    image = torch.randn(3, 16, 16)

    by_name = grad_cam(model, image, layer="layer2")
    by_module = grad_cam(model, image, layer=model.layer2)

    assert by_name.layer == by_module.layer == "layer2"
    assert torch.allclose(by_name.heatmap, by_module.heatmap)
    assert not torch.allclose(by_name.heatmap, grad_cam(model, image).heatmap)
    assert total_hooks(model) == 0


def test_it_works_inside_inference_mode():
    model = create_model("vgg11_bn_small", num_classes=3, image_size=16)
    with torch.inference_mode():
        image = torch.randn(3, 16, 16)
        result = grad_cam(model, image)
    assert result.heatmap.max() == 1


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"class_index": 7}, "class_index must be in 0..2"),
        ({"layer": "layer9"}, "no layer 'layer9'"),
        ({"layer": "fc"}, "layer 'fc' does not output a spatial"),
    ],
)
def test_it_rejects_a_bad_class_or_layer(kwargs, message):
    model = create_model("resnet18_small", num_classes=3, image_size=16)
    with pytest.raises(ValueError, match=message):
        grad_cam(model, torch.randn(3, 16, 16), **kwargs)
    assert total_hooks(model) == 0


def test_it_sends_a_vit_to_attention_rollout():
    model = create_model("vit_tiny", num_classes=3, image_size=16)
    with pytest.raises(ValueError, match="attention_rollout"):
        grad_cam(model, torch.randn(3, 16, 16))


def test_it_lists_the_layers_a_person_can_pick_with_their_map_sizes():
    model = create_model("vgg11_bn_small", num_classes=5, image_size=32)
    layers = cam_layers(model, torch.randn(3, 32, 32))
    sizes = {layer.name: (layer.kind, layer.height) for layer in layers}
    assert sizes["features.20"] == ("ReLU", 4) and sizes["features.27"] == ("ReLU", 2)
    assert not any(kind == "MaxPool2d" for kind, _ in sizes.values())
    # An explicit layer is honoured even when the rule would not choose it.
    assert grad_cam(model, torch.randn(3, 32, 32), layer="features.27").layer == "features.27"
    assert cam_layers(create_model("vit_tiny", num_classes=5, image_size=32), torch.randn(3, 32, 32)) == []


def test_the_rule_falls_back_to_the_largest_map_when_none_is_4x4():
    layers = [CamLayer("a", "ReLU", 3, 3), CamLayer("b", "ReLU", 3, 3), CamLayer("c", "ReLU", 2, 2)]
    assert choose_layer(layers).name == "b"
    with pytest.raises(ValueError, match="Grad-CAM needs one"):
        choose_layer([])
