"""Embeddings come from the layer before the head; nearest neighbours are exact; outliers rank first."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from classifier.factory import create_model
from classifier.presets import EvalPreset
from training.data import DataSource, ImageRecord
from training.datacheck.embeddings import embed, nearest, outlier_scores
from training.evaluate import predict_logits


def brute_force(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    sims = unit @ unit.T
    np.fill_diagonal(sims, -np.inf)
    order = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    return order, np.take_along_axis(sims, order, axis=1)


def test_nearest_matches_brute_force_across_chunks():
    x = np.random.default_rng(0).normal(size=(157, 12)).astype(np.float32)
    indices, sims = nearest(x, 5, chunk=16)  # ten chunks, the last one short
    want_indices, want_sims = brute_force(x, 5)
    assert indices.tolist() == want_indices.tolist()
    assert np.allclose(sims, want_sims, atol=1e-5)


def test_an_image_is_never_its_own_neighbour_and_k_is_cut_to_the_others():
    x = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]], dtype=np.float16)  # rows 0 and 1 are identical
    indices, sims = nearest(x, 10)
    assert indices.shape == (3, 2)
    assert indices[0, 0] == 1 and indices[1, 0] == 0
    assert np.isclose(sims[0, 0], 1.0)
    with pytest.raises(ValueError):
        nearest(x, 0)


def test_a_planted_far_point_is_the_top_outlier_of_its_class():
    rng = np.random.default_rng(1)
    centres = rng.normal(size=(3, 16)) * 5
    labels = np.repeat(np.arange(3), 40)
    x = centres[labels] + rng.normal(size=(120, 16))
    x[17] = -centres[0] + rng.normal(size=16)  # labelled 0, yet opposite to class 0
    scores = outlier_scores(x, labels, k=5)
    assert int(np.argmax(scores)) == 17
    assert scores[17] > 2 * np.sort(scores)[-2]


def test_a_class_of_one_has_no_outlier_score():
    x = np.eye(3, dtype=np.float32)
    assert outlier_scores(x, [0, 0, 1], k=3).tolist()[2] == 0.0


def test_embed_returns_the_head_input_for_tensors_images_and_records():
    torch.manual_seed(0)
    model = create_model("resnet18_small", num_classes=3, image_size=16).eval()
    pixels = torch.randint(0, 256, (5, 3, 16, 16), dtype=torch.uint8)
    from_tensor = embed(pixels, model, batch_size=2)
    assert from_tensor.shape == (5, 512) and from_tensor.dtype == np.float16

    pil = [Image.fromarray(p.permute(1, 2, 0).numpy()) for p in pixels]
    blobs = []
    for image in pil:
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        blobs.append(buffer.getvalue())
    source = DataSource(records=[ImageRecord(lambda b=b: io.BytesIO(b), 0, "train") for b in blobs],
                        class_names=["a", "b", "c"], key="embed-test")
    preset = EvalPreset(size=16, resize_size=16)
    assert np.allclose(embed(pil, model, preset=preset), from_tensor, atol=1e-2)
    assert np.allclose(embed(source, model, preset=preset, batch_size=3), from_tensor, atol=1e-2)

    # The features are what the head reads: the head applied to them gives the model's logits.
    logits = model.fc(torch.from_numpy(from_tensor).float())
    want = predict_logits(model, pixels, preset=preset, device=torch.device("cpu"))
    assert torch.allclose(logits, want, atol=2e-2)
