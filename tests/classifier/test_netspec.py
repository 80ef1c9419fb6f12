"""Build-your-own networks: shapes are known before anything is built, and impossible stacks are explained."""

import pytest
import torch

from classifier import SpecError, build_network, layer_shapes
from classifier.netspec import DEFAULT_SPEC

CONV = {"type": "conv", "channels": 8, "kernel": 3, "stride": 1, "padding": 1}
POOL = {"type": "maxpool", "kernel": 2, "stride": 2}


def real_shapes(model, image_size, in_channels=3):
    """Return each top-level layer's real output shape (without the batch dimension)."""
    shapes, x = [], torch.zeros(2, in_channels, image_size, image_size)
    for layer in model.eval():
        x = layer(x)
        shapes.append(tuple(x.shape[1:]))
    return shapes


@pytest.mark.parametrize(
    "spec, size",
    [
        ([], 8),
        (DEFAULT_SPEC, 32),
        ([CONV, {"type": "relu"}, POOL, {"type": "flatten"}, {"type": "linear", "features": 16}], 28),
        ([{"type": "conv", "channels": 4, "kernel": 5, "stride": 2, "padding": 0}, {"type": "batchnorm"},
          {"type": "avgpool", "kernel": 3, "stride": 2, "padding": 1}, {"type": "dropout", "p": 0.25}], 31),
        ([{"type": "conv", "channels": 6, "kernel": 4, "stride": 3}, {"type": "flatten"}, {"type": "batchnorm"},
          {"type": "linear", "features": 5}, {"type": "dropout"}, {"type": "relu"}], 17),
        ([CONV, {"type": "globalavgpool"}, {"type": "linear", "features": 3}], 9),
    ],
)
def test_shapes_match_the_built_network(spec, size):
    predicted = layer_shapes(spec, image_size=size, num_classes=7)
    model = build_network(spec, num_classes=7, image_size=size)
    assert [row.out_shape for row in predicted] == real_shapes(model, size)
    assert sum(row.params for row in predicted) == sum(p.numel() for p in model.parameters())
    assert predicted[-1].kind == "head" and predicted[-1].out_shape == (7,)
    assert [row.index for row in predicted] == list(range(1, len(spec) + 2))


def test_it_uses_the_output_size_formula():
    spec = [{"type": "conv", "channels": 2, "kernel": 5, "stride": 3, "padding": 2}]
    (conv, head) = layer_shapes(spec, image_size=20, num_classes=2)
    assert conv.out_shape == (2, 1 + (20 - 5 + 2 * 2) // 3, 7)
    assert conv.params == 3 * 2 * 25 + 2
    assert head.label == "flatten + linear, 2 classes" and head.params == 2 * 7 * 7 * 2 + 2


def test_empty_spec_is_just_a_head():
    (head,) = layer_shapes([], image_size=4, num_classes=3, in_channels=1)
    assert head.params == 1 * 4 * 4 * 3 + 3
    assert build_network([], num_classes=3, image_size=4, in_channels=1)(torch.zeros(1, 1, 4, 4)).shape == (1, 3)


@pytest.mark.parametrize(
    "spec, size, layer, message",
    [
        ([CONV, POOL, POOL, POOL, POOL], 8, 5, r"layer 5 \(max-pool 2x2\) would shrink the 1x1 map to 0x0 "
                                               r"\(1 \+ ⌊\(1 − 2 \+ 2·0\) / 2⌋ = 0\): lower its kernel"),
        ([{"type": "conv", "channels": 4, "kernel": 7, "padding": 0}], 5, 1, "would shrink the 5x5 map to 0x0"),
        ([{"type": "convv", "channels": 4}], 8, 1, "unknown type 'convv'; did you mean 'conv'"),
        ([{"channels": 4}], 8, 1, 'layer 1 has no "type"'),
        ([{"type": "conv"}], 8, 1, r"layer 1 \(conv\): missing 'channels'"),
        ([{"type": "conv", "channels": -4}], 8, 1, "'channels' must be at least 1, got -4"),
        ([{"type": "conv", "channels": 4, "kernel": 2.5}], 8, 1, "'kernel' must be a whole number, got 2.5"),
        ([{"type": "conv", "channels": "4"}], 8, 1, "'channels' must be a whole number"),
        ([{"type": "conv", "channels": True}], 8, 1, "'channels' must be a whole number"),
        ([{"type": "relu", "inplace": True}], 8, 1, "unknown field 'inplace'; relu takes no settings"),
        ([{"type": "dropout", "p": 1}], 8, 1, "'p' must be below 1"),
        ([{"type": "flatten"}, CONV], 8, 2, r"layer 2 \(conv 3x3, 8 channels\) comes after the map was flattened"),
        ([{"type": "flatten"}, {"type": "flatten"}], 8, 2, "already flat"),
        ([{"type": "linear", "features": 10}], 8, 1, r"needs a flat input but gets a 3x8x8 map: add a Flatten "
                                                     r"\(or Global average pool\) layer before it"),
        ([{"type": "maxpool", "kernel": 2, "padding": 2}], 8, 1, "padding 2 is more than half the kernel 2"),
        ([{"type": "conv", "channels": 2048}, {"type": "flatten"}, {"type": "linear", "features": 4096}], 32, 3,
         r"more than the 100,000,000 allowed; layer 3 \(linear, 4096 features\) alone has"),
        (["relu"], 8, 1, "layer 1 must be an object"),
    ],
)
def test_impossible_stacks_are_explained(spec, size, layer, message):
    with pytest.raises(SpecError, match=message) as error:
        layer_shapes(spec, image_size=size, num_classes=10)
    assert error.value.layer == layer
    with pytest.raises(SpecError, match=message):
        build_network(spec, num_classes=10, image_size=size)


def test_whole_spec_errors_name_no_layer():
    with pytest.raises(SpecError, match="a spec is a list of layers") as error:
        layer_shapes({"type": "relu"}, image_size=8, num_classes=2)
    assert error.value.layer is None
    assert isinstance(error.value, ValueError)


def test_integral_floats_from_json_are_accepted():
    spec = [{"type": "conv", "channels": 4.0, "kernel": 3.0}]
    assert layer_shapes(spec, image_size=8, num_classes=2)[0].out_shape == (4, 8, 8)


def test_the_network_keeps_its_spec():
    spec = [CONV, {"type": "relu"}]
    model = build_network(spec, num_classes=2, image_size=8)
    assert model.spec == spec and model.spec is not spec
    assert list(model.state_dict()) == ["1.weight", "1.bias", "head.1.weight", "head.1.bias"]
