"""Explanations point at the evidence: models trained to key on one image region highlight that region."""

import pytest
import torch
import torch.nn.functional as F
from torchvision.models.vision_transformer import VisionTransformer

from classifier import build_network
from classifier.explain import attention_rollout, grad_cam

SIZE = 32
TOP_LEFT = torch.zeros(SIZE, SIZE, dtype=torch.bool)
TOP_LEFT[: SIZE // 2, : SIZE // 2] = True

# A small CNN with a global-average-pool head: Grad-CAM's channel weighting is exact for such a head.
SPEC = [
    {"type": "conv", "channels": 8}, {"type": "batchnorm"}, {"type": "relu"}, {"type": "maxpool"},
    {"type": "conv", "channels": 16}, {"type": "batchnorm"}, {"type": "relu"}, {"type": "globalavgpool"},
]


def patch_images(count: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Return noise images where class 1 (and only class 1) has a bright 8x8 square in the top-left quadrant."""
    images = torch.rand(count, 3, SIZE, SIZE, generator=generator) - 0.5  # (N, 3, 32, 32) noise everywhere
    labels = torch.randint(0, 2, (count,), generator=generator)
    for index in torch.nonzero(labels).flatten().tolist():
        row, col = (int(v) for v in torch.randint(0, SIZE // 2 - 8 + 1, (2,), generator=generator))
        images[index, :, row:row + 8, col:col + 8] = 2.0
    return images, labels


def train(model: torch.nn.Module, *, steps: int, lr: float, seed: int = 0) -> torch.nn.Module:
    """Fit the model to the patch task with Adam on 256 images; return it in eval mode."""
    generator = torch.Generator().manual_seed(seed)
    images, labels = patch_images(256, generator)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    for _ in range(steps):
        batch = torch.randint(0, len(images), (32,), generator=generator)
        loss = F.cross_entropy(model(images[batch]), labels[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval()


def accuracy(model, images, labels) -> float:
    with torch.no_grad():
        return float((model(images).argmax(dim=1) == labels).float().mean())


def inside_over_outside(heatmaps: list[torch.Tensor]) -> float:
    """Return the mean heat inside the top-left quadrant divided by the mean heat outside it."""
    stacked = torch.stack(heatmaps)  # (N, 32, 32)
    return float(stacked[:, TOP_LEFT].mean() / stacked[:, ~TOP_LEFT].mean().clamp_min(1e-6))


@pytest.fixture(scope="module")
def positives():
    """Return held-out images that all have the square (class 1)."""
    images, labels = patch_images(48, torch.Generator().manual_seed(123))
    return images[labels == 1]


@pytest.mark.slow
def test_grad_cam_highlights_the_region_the_cnn_learned_to_use(positives):
    torch.manual_seed(0)
    model = train(build_network(SPEC, num_classes=2, image_size=SIZE), steps=60, lr=1e-2)
    images, labels = patch_images(64, torch.Generator().manual_seed(7))
    assert accuracy(model, images, labels) >= 0.9, "the CNN did not learn the task; the test would mean nothing"

    heatmaps = [grad_cam(model, image, class_index=1).heatmap for image in positives]

    assert inside_over_outside(heatmaps) > 2
    # Not only on average: most single images put more heat on the square's quadrant than elsewhere.
    per_image = [inside_over_outside([heatmap]) for heatmap in heatmaps]
    assert sum(ratio > 2 for ratio in per_image) >= 0.9 * len(per_image)


@pytest.mark.slow
def test_attention_rollout_of_a_trained_vit_prefers_the_region(positives):
    torch.manual_seed(0)
    vit = VisionTransformer(image_size=SIZE, patch_size=8, num_layers=2, num_heads=2, hidden_dim=32,
                            mlp_dim=64, num_classes=2)
    model = train(vit, steps=100, lr=3e-3)
    images, labels = patch_images(64, torch.Generator().manual_seed(7))
    assert accuracy(model, images, labels) >= 0.9, "the ViT did not learn the task; the test would mean nothing"

    heatmaps = [attention_rollout(model, image) for image in positives]

    assert inside_over_outside(heatmaps) > 2
