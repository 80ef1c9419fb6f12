"""ViT attention rollout: a valid map, honest per-block attention, and the model left exactly as it was."""

import pytest
import torch

from classifier import create_model
from classifier.explain import attention_maps, attention_rollout
from classifier.explain.attention import rollout


@pytest.fixture(scope="module")
def vit():
    torch.manual_seed(0)
    model = create_model("vit_tiny", num_classes=3, image_size=32)  # patch 8: a 4x4 grid, 17 tokens
    torch.nn.init.normal_(model.heads.head.weight, std=0.1)  # torchvision starts the head at zero
    return model.eval()


def test_it_returns_a_map_at_input_resolution_in_0_1(vit):
    heatmap = attention_rollout(vit, torch.randn(3, 32, 32))

    assert heatmap.shape == (32, 32) and heatmap.dtype == torch.float32
    assert heatmap.min() == 0 and heatmap.max() == 1


def test_it_captures_one_attention_matrix_per_block_with_rows_summing_to_one(vit):
    maps = attention_maps(vit, torch.randn(1, 3, 32, 32))

    blocks = vit.encoder.layers
    heads = blocks[0].self_attention.num_heads
    assert len(maps) == len(blocks)
    assert all(m.shape == (heads, 17, 17) for m in maps)  # (heads, tokens, tokens)
    assert all(torch.allclose(m.sum(dim=-1), torch.ones(heads, 17), atol=1e-5) for m in maps)
    joint = rollout(maps)
    assert torch.allclose(joint.sum(dim=-1), torch.ones(17), atol=1e-5)


def test_it_restores_the_attention_layers(vit):
    image = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        before = vit(image)

    attention_rollout(vit, image[0])

    hooks = sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in vit.modules())
    assert hooks == 0
    with torch.no_grad():
        assert torch.equal(vit(image), before)


def test_discarding_weak_attention_changes_the_map(vit):
    image = torch.randn(3, 32, 32)
    plain = attention_rollout(vit, image)
    sharp = attention_rollout(vit, image, discard_ratio=0.9, head_fusion="max")

    assert sharp.shape == plain.shape and 0 <= sharp.min() and sharp.max() <= 1
    assert not torch.allclose(plain, sharp)


@pytest.mark.parametrize("kwargs", [{"discard_ratio": 1.0}, {"head_fusion": "median"}])
def test_it_rejects_bad_options(vit, kwargs):
    with pytest.raises(ValueError):
        attention_rollout(vit, torch.randn(3, 32, 32), **kwargs)


def test_it_sends_a_cnn_to_grad_cam():
    with pytest.raises(ValueError, match="grad_cam"):
        attention_rollout(create_model("custom", num_classes=2, image_size=16), torch.randn(3, 16, 16))
