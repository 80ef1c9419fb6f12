"""Prediction returns the top-k classes with probabilities, best first."""

import torch

from classifier import create_model, predict_topk

SPEC = [{"type": "conv", "channels": 4}, {"type": "relu"}, {"type": "maxpool"}]


def test_it_returns_sorted_probabilities():
    model = create_model("custom", num_classes=3, image_size=8, spec=SPEC).train()
    probs, indices = predict_topk(model, torch.randn(4, 3, 8, 8), k=5)
    assert probs.shape == indices.shape == (4, 3)  # k is capped at the number of classes
    assert probs.dtype == torch.float32
    torch.testing.assert_close(probs.sum(1), torch.ones(4))
    assert (probs[:, :-1] >= probs[:, 1:]).all()
    assert model.training  # the caller's mode is restored


def test_it_answers_the_same_in_any_batch():
    model = create_model("resnet18_small", num_classes=5, image_size=16).train()
    images = torch.randn(6, 3, 16, 16)
    together, _ = predict_topk(model, images, k=2)
    alone, _ = predict_topk(model, images[:1], k=2)
    torch.testing.assert_close(together[:1], alone)  # batch-norm uses its running statistics
