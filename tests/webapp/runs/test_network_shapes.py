"""The builder's shape table comes from the engine's calculator, with the failing layer named."""

from tests.factories import TINY_SPEC
from webapp.runs.services.networks import MAX_LAYERS, network_shapes


def test_it_lists_every_layer_with_its_output_and_parameters():
    report = network_shapes(TINY_SPEC, image_size=16, num_classes=4)
    assert report["ok"] and report["error"] is None
    assert [row["out_shape"] for row in report["layers"]] == [[8, 16, 16], [8, 16, 16], [8, 8, 8], [16, 8, 8],
                                                             [16, 8, 8], [16], [4]]
    assert report["layers"][0]["params"] == 3 * 8 * 9 + 8 and report["layers"][-1]["label"] == "linear, 4 classes"
    assert report["total_params"] == sum(row["params"] for row in report["layers"])
    # Each convolution and pool shows how its output side is worked out, with its own numbers.
    assert [row["formula"] for row in report["layers"]][:4] == [
        "1 + ⌊(16 − 3 + 2·1) / 1⌋ = 16", "", "1 + ⌊(16 − 2 + 2·0) / 2⌋ = 8", "1 + ⌊(8 − 3 + 2·1) / 1⌋ = 8"]


def test_it_names_the_layer_that_cannot_work_and_keeps_the_ones_before():
    spec = [{"type": "conv", "channels": 4}, {"type": "maxpool", "kernel": 2}, {"type": "maxpool", "kernel": 2},
            {"type": "maxpool", "kernel": 2}]
    report = network_shapes(spec, image_size=4, num_classes=2)
    assert not report["ok"] and report["total_params"] is None
    assert report["error"]["layer"] == 4
    assert report["error"]["message"].startswith("layer 4 (max-pool 2x2) would shrink the 1x1 map to 0x0 "
                                                 "(1 + ⌊(1 − 2 + 2·0) / 2⌋ = 0)")
    assert [row["out_shape"] for row in report["layers"]] == [[4, 4, 4], [4, 2, 2], [4, 1, 1]]


def test_it_explains_a_spec_that_is_not_a_list_of_layers():
    assert "list of layers" in network_shapes({"type": "conv"}, image_size=8, num_classes=2)["error"]["message"]
    unknown = network_shapes([{"type": "convv"}], image_size=8, num_classes=2)
    assert unknown["error"]["layer"] == 1 and "did you mean 'conv'" in unknown["error"]["message"]
    huge = network_shapes([{"type": "relu"}] * (MAX_LAYERS + 1), image_size=8, num_classes=2)
    assert not huge["ok"] and "at most" in huge["error"]["message"]
