"""Every registered architecture builds and runs forward and backward; the small ones learn a batch."""

import pytest
import torch
import torch.nn.functional as F

from classifier import create_model, list_models, model_info


def small_input_size(name: str) -> int:
    """Return a cheap size each model accepts: 16 px for small variants, 32 px for ImageNet ones."""
    info = model_info(name)
    return max(16 if info.small else 32, info.min_image_size)


@pytest.mark.parametrize("name", list_models())
def test_it_runs_forward_and_backward(name):
    torch.manual_seed(0)
    size = small_input_size(name)
    model = create_model(name, num_classes=3, image_size=size).train()
    images, targets = torch.randn(2, 3, size, size), torch.tensor([0, 2])

    logits = model(images)
    loss = F.cross_entropy(logits, targets)
    loss.backward()

    assert logits.shape == (2, 3) and torch.isfinite(loss)
    params = dict(model.named_parameters())
    no_grad = [key for key, p in params.items() if p.grad is None]
    assert not no_grad, f"parameters left out of the graph: {no_grad[:5]}"
    assert all(torch.isfinite(p.grad).all() for p in params.values())


@pytest.mark.parametrize("name", [n for n in list_models() if model_info(n).small])
def test_small_variants_fit_a_batch(name):
    torch.manual_seed(0)
    model = create_model(name, num_classes=3, image_size=16).train()
    images, targets = torch.randn(8, 3, 16, 16), torch.arange(8) % 3
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)

    def loss_on_batch():
        torch.manual_seed(1)  # the same dropout masks every time
        return F.cross_entropy(model(images), targets)

    first = loss_on_batch()
    for _ in range(5):
        optimizer.zero_grad()
        loss_on_batch().backward()
        optimizer.step()
    with torch.no_grad():
        assert loss_on_batch() < 0.8 * first
