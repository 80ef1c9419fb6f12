"""Prediction: top-k classes and their probabilities for a batch."""

from __future__ import annotations

import torch
from torch import Tensor, nn


@torch.inference_mode()
def predict_topk(model: nn.Module, images: Tensor, *, k: int = 5) -> tuple[Tensor, Tensor]:
    """Return (B, k) float32 softmax probabilities and (B, k) class indices, best first."""
    was_training = model.training
    model.eval()  # batch-norm and dropout must not depend on the rest of the batch
    try:
        parameter = next(model.parameters(), None)
        if parameter is not None:
            images = images.to(parameter.device, non_blocking=True)
        logits = model(images)  # (B, C)
    finally:
        model.train(was_training)
    probs = logits.float().softmax(dim=1)
    top = probs.topk(min(k, probs.shape[1]), dim=1)
    return top.values, top.indices
