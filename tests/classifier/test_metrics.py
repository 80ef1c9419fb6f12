"""Every metric agrees with scikit-learn (or, for calibration, with a plain reference loop)."""

import numpy as np
import pytest
import torch
from sklearn import metrics as sk

from classifier import classification_metrics, confusion_matrix

NAMES = ["cat", "dog", "fox", "owl", "yak", "emu"]


def example(num=200, classes=6, seed=0, missing_class=None):
    """Return logits that are right most of the time, and their targets."""
    generator = torch.Generator().manual_seed(seed)
    targets = torch.randint(0, classes, (num,), generator=generator)
    if missing_class is not None:
        targets[targets == missing_class] = 0  # a class no image belongs to
    logits = torch.randn(num, classes, generator=generator) * 2
    logits[torch.arange(num), targets] += 2.5
    return logits, targets


@pytest.mark.parametrize("missing_class", [None, 3])
def test_it_matches_scikit_learn(missing_class):
    logits, targets = example(missing_class=missing_class)
    result = classification_metrics(logits, targets, NAMES)
    y, p = targets.numpy(), logits.argmax(1).numpy()
    labels = list(range(len(NAMES)))
    probs = logits.double().softmax(1).numpy()

    assert result["num_samples"] == 200
    assert result["top1"] == pytest.approx(sk.accuracy_score(y, p))
    assert result["top5"] == pytest.approx(sk.top_k_accuracy_score(y, probs, k=5, labels=labels))
    assert result["confusion_matrix"] == sk.confusion_matrix(y, p, labels=labels).tolist()
    assert result["nll"] == pytest.approx(sk.log_loss(y, probs, labels=labels))
    precision, recall, f1, support = sk.precision_recall_fscore_support(y, p, labels=labels, zero_division=0)
    for row, values in zip(result["per_class"], zip(precision, recall, f1, support, strict=True), strict=True):
        assert (row["precision"], row["recall"], row["f1"], row["support"]) == pytest.approx(values)
        assert row["accuracy"] == pytest.approx(values[1])
    assert [row["class"] for row in result["per_class"]] == NAMES
    for average in ("macro", "weighted"):
        expected = sk.precision_recall_fscore_support(y, p, labels=labels, average=average, zero_division=0)
        got = result[average]
        assert (got["precision"], got["recall"], got["f1"]) == pytest.approx(expected[:3])


def reference_ece(logits, targets, bins):
    """Return ECE with equal-width bins (lower, upper], computed the slow obvious way."""
    probs = logits.double().softmax(1).numpy()
    confidence, correct = probs.max(1), probs.argmax(1) == targets.numpy()
    total = 0.0
    for i in range(bins):
        lower, upper = i / bins, (i + 1) / bins
        inside = (confidence > lower) & (confidence <= upper)
        if inside.any():
            total += inside.sum() / len(confidence) * abs(correct[inside].mean() - confidence[inside].mean())
    return total


def test_calibration_matches_a_reference():
    logits, targets = example(num=500, seed=1)
    result = classification_metrics(logits, targets, NAMES, bins=10)
    assert result["ece"] == pytest.approx(reference_ece(logits, targets, 10))
    bins = result["reliability"]
    assert len(bins) == 10 and bins[0]["lower"] == 0.0 and bins[-1]["upper"] == 1.0
    assert sum(b["count"] for b in bins) == 500
    assert all(0 <= b["accuracy"] <= 1 for b in bins)


def test_a_perfectly_confident_correct_model_is_calibrated():
    targets = torch.tensor([0, 1, 2, 1])
    logits = torch.nn.functional.one_hot(targets, 3).float() * 100
    result = classification_metrics(logits, targets, ["a", "b", "c"], topk=5)
    assert result["top1"] == result["top5"] == 1.0
    assert result["topk"] == 3  # k never exceeds the number of classes
    assert result["ece"] == pytest.approx(0.0, abs=1e-9)
    assert result["nll"] == pytest.approx(0.0, abs=1e-9)


def test_a_class_never_predicted_scores_zero_not_nan():
    targets = torch.tensor([0, 0, 1, 1])
    logits = torch.tensor([[5.0, 0, 0], [5, 0, 0], [0, 5, 0], [5, 0, 0]])
    rows = classification_metrics(logits, targets, ["a", "b", "c"])["per_class"]
    assert rows[2] == {"class": "c", "index": 2, "precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0,
                       "accuracy": 0.0}
    assert rows[1]["precision"] == 1.0 and rows[1]["recall"] == 0.5


def test_no_samples_gives_zeros():
    result = classification_metrics(torch.zeros(0, 2), torch.zeros(0, dtype=torch.long), ["a", "b"])
    assert result["num_samples"] == 0 and result["top1"] == 0.0 and result["ece"] == 0.0
    assert result["confusion_matrix"] == [[0, 0], [0, 0]]


def test_shapes_that_disagree_are_refused():
    with pytest.raises(ValueError, match="expected logits"):
        classification_metrics(torch.zeros(4, 3), torch.zeros(4, dtype=torch.long), ["a", "b"])


def test_confusion_matrix_rows_are_true_classes():
    assert confusion_matrix(torch.tensor([0, 0, 1]), torch.tensor([1, 1, 1]), 2) == [[0, 2], [0, 1]]
    y, p = np.random.default_rng(0).integers(0, 4, (2, 50))
    assert confusion_matrix(torch.tensor(y), torch.tensor(p), 4) == sk.confusion_matrix(y, p, labels=range(4)).tolist()
