"""Classification metrics: plain tensors in, plain Python out (JSON-ready)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def confusion_matrix(targets: Tensor, preds: Tensor, num_classes: int) -> list[list[int]]:
    """Return counts with rows = true class, columns = predicted class."""
    targets = torch.as_tensor(targets).long().flatten().cpu()
    preds = torch.as_tensor(preds).long().flatten().cpu()
    counts = torch.bincount(targets * num_classes + preds, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes).tolist()


def _ratio(numerator: Tensor, denominator: Tensor) -> Tensor:
    """Divide elementwise, giving 0.0 where the denominator is 0 (scikit-learn's zero_division=0)."""
    safe = torch.where(denominator > 0, denominator, torch.ones_like(denominator))
    return torch.where(denominator > 0, numerator / safe, torch.zeros_like(numerator))


def _reliability(confidence: Tensor, correct: Tensor, bins: int) -> tuple[float, list[dict]]:
    """Return the expected calibration error and equal-width confidence bins (lower, upper]."""
    edges = torch.linspace(0, 1, bins + 1, dtype=torch.float64)
    # bucketize(right=False) puts c in bin i when edges[i] < c <= edges[i+1]; a confidence of 0 joins bin 0.
    index = (torch.bucketize(confidence, edges[1:-1], right=False)).clamp(0, bins - 1)
    count = torch.bincount(index, minlength=bins).double()
    conf_sum = torch.bincount(index, weights=confidence, minlength=bins)
    acc_sum = torch.bincount(index, weights=correct.double(), minlength=bins)
    mean_conf, mean_acc = _ratio(conf_sum, count), _ratio(acc_sum, count)
    total = max(int(count.sum()), 1)
    ece = float(((mean_acc - mean_conf).abs() * count).sum() / total)
    rows = [
        {"lower": float(edges[i]), "upper": float(edges[i + 1]), "count": int(count[i]),
         "confidence": float(mean_conf[i]), "accuracy": float(mean_acc[i])}
        for i in range(bins)
    ]
    return ece, rows


def _averages(precision: Tensor, recall: Tensor, f1: Tensor, weights: Tensor) -> dict:
    """Return the per-class scores averaged with `weights` (uniform: macro; by support: weighted)."""
    return {"precision": float((precision * weights).sum()), "recall": float((recall * weights).sum()),
            "f1": float((f1 * weights).sum())}


def classification_metrics(
    logits: Tensor, targets: Tensor, class_names: list[str], *, topk: int = 5, bins: int = 15
) -> dict:
    """Return accuracy, top-k, confusion matrix, per-class and averaged P/R/F1, calibration and NLL."""
    logits = torch.as_tensor(logits).detach().cpu().double()  # (N, C)
    targets = torch.as_tensor(targets).detach().cpu().long().flatten()  # (N,)
    num, num_classes = len(targets), len(class_names)
    if logits.ndim != 2 or logits.shape != (num, num_classes):
        raise ValueError(f"expected logits (N, {num_classes}) and targets (N,), got {tuple(logits.shape)} "
                         f"and {tuple(targets.shape)}")
    k = min(topk, num_classes)
    probs = logits.softmax(dim=1)  # (N, C)
    confidence, preds = probs.max(dim=1)  # (N,), (N,)
    correct = preds == targets
    in_topk = (logits.topk(k, dim=1).indices == targets[:, None]).any(dim=1)

    matrix = torch.tensor(confusion_matrix(targets, preds, num_classes), dtype=torch.float64)  # (C, C)
    true_pos, support, predicted = matrix.diagonal(), matrix.sum(dim=1), matrix.sum(dim=0)
    precision, recall = _ratio(true_pos, predicted), _ratio(true_pos, support)
    f1 = _ratio(2 * precision * recall, precision + recall)
    # Per-class accuracy in the one-vs-rest sense would be dominated by true negatives; users mean recall.
    per_class = [
        {"class": class_names[i], "index": i, "precision": float(precision[i]), "recall": float(recall[i]),
         "f1": float(f1[i]), "support": int(support[i]), "accuracy": float(recall[i])}
        for i in range(num_classes)
    ]
    weights = support / max(num, 1)
    ece, reliability = _reliability(confidence, correct, bins)
    nll = float(F.cross_entropy(logits, targets)) if num else 0.0
    return {
        "num_samples": num,
        "top1": float(correct.double().mean()) if num else 0.0,
        "top5": float(in_topk.double().mean()) if num else 0.0,
        "topk": k,
        "confusion_matrix": matrix.long().tolist(),
        "per_class": per_class,
        "macro": _averages(precision, recall, f1, torch.full_like(weights, 1 / num_classes)),
        "weighted": _averages(precision, recall, f1, weights),
        "ece": ece,
        "reliability": reliability,
        "nll": nll,
    }
