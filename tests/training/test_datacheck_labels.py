"""Confident learning finds flipped labels, and cross-validation never scores an image with a model that saw it."""

from __future__ import annotations

import io
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from training.data import DataSource, ImageRecord
from training.datacheck import labels as cl
from training.datacheck.labels import confident_joint, fold_of, label_suspects, out_of_sample_probabilities
from training.preprocessing import presets_for


def separable_problem(n=600, classes=4, flips=30, seed=0):
    """Return (probs, noisy labels, flipped indices) of a softmax over well-separated Gaussian classes."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, classes, n)
    logits = rng.normal(0, 1, (n, classes))
    logits[np.arange(n), truth] += 4.0  # each image clearly belongs to its true class
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    flipped = rng.choice(n, flips, replace=False)
    noisy = truth.copy()
    noisy[flipped] = (truth[flipped] + rng.integers(1, classes, flips)) % classes
    return probs, noisy, truth, flipped


def test_it_finds_flipped_labels_and_suggests_the_true_class():
    probs, noisy, truth, flipped = separable_problem()
    suspects = label_suspects(probs, noisy, limit=2 * len(flipped))
    found = {s.index for s in suspects}
    assert len(found & set(flipped.tolist())) / len(flipped) >= 0.9
    assert len(found & set(flipped.tolist())) / len(found) >= 0.8
    for s in suspects:
        assert s.given == noisy[s.index]
        if s.index in set(flipped.tolist()):
            assert s.suggested == truth[s.index]
            assert 0.5 < s.confidence <= 1.0


def test_suspects_are_ranked_most_suspect_first_and_limited():
    probs, noisy, _, _ = separable_problem()
    suspects = label_suspects(probs, noisy)
    given = [probs[s.index, s.given] for s in suspects]
    margins = [probs[s.index, s.given] - np.delete(probs[s.index], s.given).max() for s in suspects]
    assert margins == sorted(margins)
    assert given[0] < 0.2
    assert label_suspects(probs, noisy, limit=5) == suspects[:5]


def test_clean_labels_give_few_suspects_and_unscored_rows_are_skipped():
    probs, _, truth, _ = separable_problem(flips=1)
    assert len(label_suspects(probs, truth)) <= 3
    probs[0] = np.nan
    assert all(s.index != 0 for s in label_suspects(probs, truth))


def test_the_confident_joint_counts_images_above_their_class_threshold():
    probs = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
    labels = np.array([0, 0, 1, 1])  # thresholds: class 0 = 0.85, class 1 = 0.55
    joint, confident = confident_joint(probs, labels)
    assert confident.tolist() == [0, -1, 1, -1]
    assert joint.tolist() == [[1, 0], [0, 1]]


def test_bad_input_is_refused():
    with pytest.raises(ValueError):
        label_suspects(np.ones((3, 2)) / 2, [0, 1])
    with pytest.raises(ValueError):
        label_suspects(np.ones((2, 2)) / 2, [0, 2])
    with pytest.raises(ValueError):
        fold_of([0, 1], 1)


def test_folds_are_stratified():
    labels = np.repeat(np.arange(3), 10)
    folds = fold_of(labels, 5, seed=1)
    for label in range(3):
        assert np.bincount(folds[labels == label], minlength=5).tolist() == [2] * 5


class FoldTeller(nn.Module):
    """A 'model' that answers its fold number as the class, whatever the image."""

    def __init__(self, fold: int, classes: int):
        super().__init__()
        self.fold, self.classes, self.weight = fold, classes, nn.Parameter(torch.zeros(1))

    def forward(self, x):
        logits = torch.zeros(len(x), self.classes)
        logits[:, self.fold] = 10.0
        return logits


def tiny_source(n=40, classes=5):
    blobs = []
    for i in range(n):
        buffer = io.BytesIO()
        Image.fromarray(np.full((8, 8, 3), i * 5, dtype=np.uint8)).save(buffer, format="PNG")
        blobs.append(buffer.getvalue())
    records = [ImageRecord(source=lambda b=b: io.BytesIO(b), label=i % classes, split=("train", "val", "test")[i % 3])
               for i, b in enumerate(blobs)]
    return DataSource(records=records, class_names=[str(c) for c in range(classes)], key=f"tiny-cv-{n}")


def test_out_of_sample_never_scores_an_image_with_a_model_that_trained_on_it(monkeypatch, tmp_path):
    source, seen = tiny_source(), []

    def fake_fit(config, data, *, out_dir, class_names):
        assert data.split("val").labels.numel() == 0 and data.split("test").labels.numel() == 0
        seen.append(set(data.record_indices))
        return SimpleNamespace(model=FoldTeller(len(seen) - 1, len(class_names)), device=torch.device("cpu"),
                               eval_preset=presets_for(config)[1])

    monkeypatch.setattr(cl, "fit", fake_fit)
    calls = []
    probs = out_of_sample_probabilities(source, folds=5, progress=lambda d, t: calls.append((d, t)),
                                        cache_dir=tmp_path)
    assert calls == [(i, 5) for i in range(6)]
    assert len(seen) == 5 and probs.shape == (40, 5)
    scored_by = probs.argmax(axis=1)  # which fold's model gave each row
    for record, fold in enumerate(scored_by.tolist()):
        assert record not in seen[fold]  # the model that scored it never trained on it
        assert all(record in s for f, s in enumerate(seen) if f != fold)  # every other fold did
    folds = fold_of([r.label for r in source.records], 5)
    assert scored_by.tolist() == folds.tolist()


def test_out_of_sample_trains_real_folds_end_to_end(tmp_path):
    from tests.training.training_helpers import tiny_config

    source = tiny_source(n=30, classes=3)
    probs = out_of_sample_probabilities(source, folds=3, config=tiny_config(epochs=1), cache_dir=tmp_path)
    assert probs.shape == (30, 3)
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-4)
