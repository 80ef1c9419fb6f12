"""Image embeddings from a model's penultimate layer, cosine nearest neighbours, and in-class outlier scores.

Nearest neighbours are exact: chunked, batched matrix products in torch, O(N^2 D) work and O(chunk * N) memory.
That is fine to about 100,000 images on one machine (10^10 dot products of 512 floats: minutes on a CPU, seconds
on a GPU). Beyond a few hundred thousand images, or when neighbours are asked for interactively over millions,
an approximate index (FAISS IVF/HNSW) would take over; nothing here would need to change but `nearest`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from classifier.factory import create_model, load_model
from classifier.presets import EvalPreset, decode_for_cache, preset_from_dict
from classifier.registry import model_info
from classifier.weights import head_prefix
from training.data import DataSource, ImageRecord

Images = DataSource | Sequence[ImageRecord] | Sequence[Image.Image] | torch.Tensor


def load_embedder(path: str | os.PathLike, *, device: str | torch.device = "cpu") -> tuple[nn.Module, EvalPreset]:
    """Return a saved Lux model (model.safetensors) and the evaluation preset it was trained with."""
    model, card = load_model(path, device=device)
    return model, preset_from_dict(card.preset)


def imagenet_embedder(arch: str = "resnet18", *, device: str | torch.device = "cpu") -> tuple[nn.Module, EvalPreset]:
    """Return an ImageNet backbone and its preset; raises PretrainedWeightsMissing when its weights are absent."""
    size = model_info(arch).default_image_size
    model = create_model(arch, num_classes=1000, image_size=size, pretrained="imagenet")
    return model.to(device).eval(), EvalPreset(size=size)


@torch.inference_mode()
def embed(images: Images, model: nn.Module, *, preset: EvalPreset | dict | None = None, batch_size: int = 256,
          device: str | torch.device = "cpu") -> np.ndarray:
    """Return (N, D) float16 features: the input of the model's head (its last linear layer), one row per image.

    `images` is a DataSource (or its records), PIL images, or an (N, 3, S, S) uint8 tensor such as a cache's.
    `preset` is the model's EvalPreset (or its dict); None reads tensors at their own size and decodes files at
    32 px. A record that cannot be decoded raises (decode errors are the ingest's job, not this one's).
    """
    if isinstance(preset, dict):
        preset = preset_from_dict(preset)
    if isinstance(images, torch.Tensor):
        if images.ndim != 4 or images.dtype != torch.uint8 or images.shape[1] != 3:
            raise ValueError(f"image tensors must be (N, 3, S, S) uint8, got {tuple(images.shape)} {images.dtype}")
        preset = preset or EvalPreset(size=images.shape[-1], resize_size=images.shape[-1])
    preset = preset or EvalPreset(size=32)
    if isinstance(images, DataSource):
        images = images.records
    device = torch.device(device)
    model = model.to(device).eval()
    head = dict(model.named_modules())[head_prefix(model)]
    kept: list[torch.Tensor] = []
    hook = head.register_forward_pre_hook(lambda module, args: kept.append(args[0].flatten(1).float().cpu()))
    try:
        for start in range(0, len(images), batch_size):
            batch = _pixels(images[start:start + batch_size], preset.resize_size)  # (B, 3, R, R) uint8
            model(preset.batch(batch.to(device)))
    finally:
        hook.remove()
    if not kept:
        return np.zeros((0, 0), dtype=np.float16)
    return torch.cat(kept).to(torch.float16).numpy()  # (N, D)


def _pixels(items, size: int) -> torch.Tensor:
    """Return a (B, 3, size, size) uint8 batch from a tensor slice, PIL images or image records."""
    if isinstance(items, torch.Tensor):
        return items
    arrays = []
    for item in items:
        if isinstance(item, Image.Image):
            arrays.append(decode_for_cache(item, size))
            continue
        source = item.source if isinstance(item, ImageRecord) else item
        stream = source() if callable(source) else open(Path(source), "rb")
        with stream, Image.open(stream) as image:
            arrays.append(decode_for_cache(image, size))  # (size, size, 3) uint8
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()


def _unit(embeddings, device: torch.device) -> torch.Tensor:
    """Return the rows as float32 unit vectors on `device` (a zero row stays zero)."""
    x = torch.as_tensor(np.asarray(embeddings), device=device).float()  # (N, D)
    if x.ndim != 2:
        raise ValueError(f"embeddings must be (N, D), got {tuple(x.shape)}")
    return torch.nn.functional.normalize(x, dim=1)


@torch.inference_mode()
def nearest(embeddings, k: int, *, chunk: int = 4096,
            device: str | torch.device = "cpu") -> tuple[np.ndarray, np.ndarray]:
    """Return (indices (N, k) int64, similarities (N, k) float32): each row's k most cosine-similar other rows.

    Exact, in chunks of `chunk` query rows (memory chunk * N floats); an image is never its own neighbour, and
    k is cut to N - 1. Ties keep the lower index first.
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a whole number of at least 1, got {k!r}")
    x = _unit(embeddings, torch.device(device))  # (N, D)
    n = x.shape[0]
    k = min(k, n - 1)
    indices = np.zeros((n, max(k, 0)), dtype=np.int64)
    sims = np.zeros((n, max(k, 0)), dtype=np.float32)
    if k <= 0:
        return indices, sims
    for start in range(0, n, chunk):
        block = x[start:start + chunk] @ x.T  # (c, N) cosine similarities
        rows = torch.arange(block.shape[0], device=block.device)
        block[rows, rows + start] = -torch.inf  # never its own neighbour
        top = torch.topk(block, k, dim=1, sorted=True)
        indices[start:start + chunk] = top.indices.cpu().numpy()
        sims[start:start + chunk] = top.values.cpu().numpy()
    return indices, sims


def outlier_scores(embeddings, labels, k: int = 10, *, chunk: int = 4096,
                   device: str | torch.device = "cpu") -> np.ndarray:
    """Return (N,) float32 scores, higher = farther from its own class: 1 - mean cosine to its k nearest classmates.

    Scores lie in [0, 2]. An image alone in its class has no classmates to be far from and scores 0.
    """
    labels = np.asarray(labels)
    if len(labels) != len(embeddings):
        raise ValueError(f"{len(embeddings)} embeddings but {len(labels)} labels")
    scores = np.zeros(len(labels), dtype=np.float32)
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        if len(members) < 2:
            continue
        _, sims = nearest(np.asarray(embeddings)[members], k, chunk=chunk, device=device)  # (M, k')
        scores[members] = 1.0 - sims.mean(axis=1)
    return scores
