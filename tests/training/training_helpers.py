"""Tiny image folders, models and configs for the training-engine tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from training import TrainConfig

COLOURS = {"blue": (30, 30, 220), "green": (30, 200, 30), "red": (220, 30, 30)}

# A 3-layer CNN with batch-norm and dropout: tiny, yet it exercises every kind of state a checkpoint holds
# (tests.factories.TINY_SPEC has neither; these tests import no Django, so it is not shared).
TINY_BN_SPEC = [
    {"type": "conv", "channels": 8, "kernel": 3, "padding": 1},
    {"type": "batchnorm"},
    {"type": "relu"},
    {"type": "maxpool", "kernel": 2, "stride": 2},
    {"type": "conv", "channels": 8, "kernel": 3, "padding": 1},
    {"type": "relu"},
    {"type": "globalavgpool"},
    {"type": "dropout", "p": 0.2},
]


def make_colour_folder(root: Path, *, per_class: int = 20, size: int = 16, seed: int = 0) -> Path:
    """Write `per_class` noisy single-colour PNGs per class under root/<class>/ and return root."""
    rng = np.random.default_rng(seed)
    for name, colour in COLOURS.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            pixels = np.clip(np.array(colour)[None, None] + rng.normal(0, 30, (size, size, 3)), 0, 255)
            Image.fromarray(pixels.astype(np.uint8)).save(root / name / f"{i:03d}.png")
    return root


def tiny_config(**overrides) -> TrainConfig:
    """Return a config for the tiny CNN on 16 px images that trains in well under a second per epoch."""
    values = dict(arch="custom", spec=TINY_BN_SPEC, image_size=16, epochs=3, batch_size=8, optimizer="sgd", lr=0.05,
                  nesterov=True, weight_decay=5e-4, keep_last=2)
    values.update(overrides)
    return TrainConfig(**values)


def _in_memory(images: np.ndarray, labels: np.ndarray, splits: list[str], class_names: list[str], key: str):
    """Return a CachedData over (N, H, W, 3) uint8 images held in memory, ordered train, val, test."""
    import torch

    from training import CachedData

    order = sorted(range(len(splits)), key=lambda i: ("train", "val", "test").index(splits[i]))
    return CachedData(path=Path(f"/memory/{key}"), cache_size=images.shape[1], class_names=class_names, key=key,
                      images=torch.from_numpy(np.ascontiguousarray(images[order].transpose(0, 3, 1, 2))),
                      labels=torch.as_tensor(labels[order], dtype=torch.int64), splits=[splits[i] for i in order],
                      record_indices=order)


def digits_data(*, size: int = 32, train_per_class: int | None = None, seed: int = 0):
    """Return scikit-learn's 8x8 digits upscaled to `size` px: 80/10/10 split, optionally fewer training images."""
    import torch
    import torch.nn.functional as F
    from sklearn.datasets import load_digits

    from training import stratified_split

    digits = load_digits()
    pixels = torch.from_numpy(digits.images).float()[:, None] * (255 / 16)  # (N, 1, 8, 8)
    pixels = F.interpolate(pixels, size=(size, size), mode="bilinear", align_corners=False)
    images = pixels.clamp(0, 255).round().byte().expand(-1, 3, -1, -1).permute(0, 2, 3, 1).numpy()
    labels = digits.target
    splits = stratified_split(labels.tolist(), seed=seed)
    if train_per_class is not None:  # drop training images beyond the first `train_per_class` of each class
        kept, seen = [], {}
        for i, (label, split) in enumerate(zip(labels, splits, strict=True)):
            seen[label] = seen.get(label, 0) + (split == "train")
            if split != "train" or seen[label] <= train_per_class:
                kept.append(i)
        images, labels, splits = images[kept], labels[kept], [splits[i] for i in kept]
    return _in_memory(images, labels, splits, [str(d) for d in range(10)], f"digits-{size}-{train_per_class}")


def texture_data(*, size: int = 64, per_class: tuple[int, int, int] = (80, 30, 30), seed: int = 0):
    """Return scikit-image's brick, grass and gravel photos cut into `size` px patches under changing light.

    Train, val and test patches come from separate horizontal bands of each photo, so no pixel is shared.
    """
    from skimage import data

    rng = np.random.default_rng(seed)
    names = ["brick", "grass", "gravel"]
    bands = {"train": (0, 320), "val": (320, 416), "test": (416, 512)}
    images, labels, splits = [], [], []
    for label, name in enumerate(names):
        photo = getattr(data, name)().astype(np.float64)  # (512, 512) gray
        for split, count in zip(bands, per_class, strict=True):
            top, bottom = bands[split]
            for _ in range(count):
                y = rng.integers(top, bottom - size + 1)
                x = rng.integers(0, photo.shape[1] - size + 1)
                patch = photo[y:y + size, x:x + size] / 255
                ramp = np.linspace(-1, 1, size)
                angle = rng.uniform(0, 2 * np.pi)
                light = rng.uniform(0.6, 1.4) + rng.uniform(0, 0.3) * (
                    np.cos(angle) * ramp[None, :] + np.sin(angle) * ramp[:, None])
                patch = np.clip(patch ** rng.uniform(0.7, 1.4) * light, 0, 1)
                images.append(np.repeat((patch * 255).round().astype(np.uint8)[..., None], 3, axis=2))
                labels.append(label)
                splits.append(split)
    return _in_memory(np.stack(images), np.array(labels), splits, names, f"textures-{size}-{seed}")
