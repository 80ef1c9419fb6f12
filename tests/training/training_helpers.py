"""Tiny image folders, models and configs for the training-engine tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from training import TrainConfig

COLOURS = {"blue": (30, 30, 220), "green": (30, 200, 30), "red": (220, 30, 30)}

# A 3-layer CNN with batch-norm and dropout: tiny, yet it exercises every kind of state a checkpoint holds.
TINY_SPEC = [
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
    values = dict(arch="custom", spec=TINY_SPEC, image_size=16, epochs=3, batch_size=8, optimizer="sgd", lr=0.05,
                  nesterov=True, weight_decay=5e-4, keep_last=2)
    values.update(overrides)
    return TrainConfig(**values)
