"""Evaluate a model on a cached split: every metric, plus each image's prediction."""

from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F
from torch import nn

from classifier.metrics import classification_metrics
from classifier.presets import EvalPreset
from training.cache import CachedSplit
from training.device import bf16_supported


def _autocast(device: torch.device, bf16: bool):
    return torch.autocast(device.type, dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()


@torch.inference_mode()
def predict_logits(model: nn.Module, images: torch.Tensor, *, preset: EvalPreset, device: torch.device,
                   batch_size: int = 256, bf16: bool = False,
                   memory_format: torch.memory_format = torch.contiguous_format) -> torch.Tensor:
    """Return (N, C) float32 logits on the CPU for (N, 3, S, S) uint8 images."""
    was_training = model.training
    model.eval()
    out = []
    try:
        for start in range(0, len(images), batch_size):
            batch = images[start:start + batch_size].to(device, non_blocking=True)  # (B, 3, S, S) uint8
            x = preset.batch(batch).contiguous(memory_format=memory_format)  # (B, 3, s, s) float32
            with _autocast(device, bf16):
                out.append(model(x).float().cpu())  # (B, C)
    finally:
        model.train(was_training)
    if not out:
        return torch.empty((0, 0))
    return torch.cat(out)


def evaluate(model: nn.Module, split: CachedSplit, *, class_names: list[str], preset: EvalPreset,
             device: str | torch.device | None = None, batch_size: int = 256,
             mixed_precision: str = "off") -> dict:
    """Return classification_metrics() for `split` plus "predictions": one dict per image, in split order."""
    device = torch.device(device) if device is not None else next(model.parameters()).device
    model.to(device)
    # fp32 by default: the numbers a user compares across runs should not depend on the machine's bf16.
    bf16 = mixed_precision == "bf16" or (mixed_precision == "auto" and bf16_supported(device))
    logits = predict_logits(model, split.images, preset=preset, device=device, batch_size=batch_size, bf16=bf16)
    if len(split) == 0:
        logits = torch.empty((0, len(class_names)))
    metrics = classification_metrics(logits, split.labels, class_names)
    probs = logits.double().softmax(dim=1)  # (N, C)
    top = probs.topk(min(5, len(class_names)), dim=1)
    confidence, predicted = probs.max(dim=1)
    metrics["predictions"] = [
        {"record_index": record, "true": int(true), "predicted": int(pred), "confidence": float(conf),
         "top5": [[int(c), float(p)] for c, p in zip(indices, values, strict=True)]}
        for record, true, pred, conf, indices, values in zip(
            split.record_indices, split.labels.tolist(), predicted.tolist(), confidence.tolist(),
            top.indices.tolist(), top.values.tolist(), strict=True)
    ]
    return metrics


@torch.inference_mode()
def loss_and_accuracy(model: nn.Module, split: CachedSplit, *, preset: EvalPreset, device: torch.device,
                      bf16: bool, memory_format: torch.memory_format, batch_size: int,
                      rows: slice = slice(None)) -> torch.Tensor:
    """Return [summed cross-entropy, correct count, image count] over split rows `rows` (float64, CPU)."""
    images, labels = split.images[rows], split.labels[rows]
    logits = predict_logits(model, images, preset=preset, device=device, batch_size=batch_size, bf16=bf16,
                            memory_format=memory_format)
    if len(labels) == 0:
        return torch.zeros(3, dtype=torch.float64)
    loss = F.cross_entropy(logits.double(), labels, reduction="sum")
    correct = (logits.argmax(dim=1) == labels).sum()
    return torch.stack([loss, correct.double(), torch.tensor(float(len(labels)), dtype=torch.float64)])
