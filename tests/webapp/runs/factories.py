"""Datasets the run tests train on: noisy coloured squares and scikit-learn's digits, stored like uploads."""

from __future__ import annotations

import io
import time

import numpy as np
from PIL import Image as PILImage

from webapp.datasets.models import Dataset, DatasetClass
from webapp.datasets.services.store import add_image
from webapp.datasets.services.versions import freeze_version
from webapp.runs.models import CustomNetwork, RunStatus, TrainingRun

COLOURS = {"red": (200, 40, 40), "green": (40, 180, 60), "blue": (40, 60, 200), "yellow": (220, 210, 40)}
SPLITS = {"train": 12, "val": 4, "test": 5}
# A tiny CNN: trains a few epochs of 16 px images in about a second on a shared CPU.
TINY_SPEC = [
    {"type": "conv", "channels": 8, "kernel": 3},
    {"type": "relu"},
    {"type": "maxpool", "kernel": 2},
    {"type": "conv", "channels": 16, "kernel": 3},
    {"type": "relu"},
    {"type": "globalavgpool"},
]


def png(pixels: np.ndarray) -> bytes:
    """Return (H, W, 3) uint8 pixels as PNG bytes."""
    out = io.BytesIO()
    PILImage.fromarray(pixels).save(out, format="PNG")
    return out.getvalue()


def squares_dataset(owner, *, name="Squares", classes=("red", "green", "blue"), per_split=None, size=16,
                    seed=0) -> Dataset:
    """Return a dataset of noisy squares, one colour per class, `per_split` images per class and split."""
    rng = np.random.default_rng(seed)
    dataset = Dataset.objects.create(owner=owner, name=name)
    for position, class_name in enumerate(classes):
        label = DatasetClass.objects.create(dataset=dataset, name=class_name, position=position)
        for split, count in (per_split or SPLITS).items():
            for _ in range(count):
                noise = rng.integers(-40, 40, size=(size, size, 3))
                pixels = np.clip(np.array(COLOURS[class_name]) + noise, 0, 255).astype(np.uint8)
                outcome = add_image(dataset, png(pixels), name=f"{class_name}.png", label=label, split=split)
                assert outcome.accepted, outcome
    dataset.touch()
    return dataset


def digits_dataset(owner, *, per_class=60, size=16, seed=0, name="Digits") -> tuple[Dataset, dict]:
    """Return (dataset, split sizes): a stratified subset of scikit-learn's 8x8 digits, upscaled to `size` px."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    rng = np.random.default_rng(seed)
    dataset = Dataset.objects.create(owner=owner, name=name)
    sizes = {"train": 0, "val": 0, "test": 0}
    for digit in range(10):
        label = DatasetClass.objects.create(dataset=dataset, name=str(digit), position=digit)
        members = rng.permutation(np.flatnonzero(digits.target == digit))[:per_class]
        n_val = n_test = max(1, len(members) // 6)
        for i, index in enumerate(members):
            split = "val" if i < n_val else "test" if i < n_val + n_test else "train"
            grey = (digits.images[index] * (255 / 16)).astype(np.uint8)  # (8, 8) 0..16 -> 0..255
            image = PILImage.fromarray(grey).resize((size, size), PILImage.Resampling.BILINEAR).convert("RGB")
            outcome = add_image(dataset, png(np.asarray(image)), name=f"{digit}-{index}.png", label=label,
                                split=split)
            if outcome.accepted:  # a few digits are pixel-identical: stored once
                sizes[split] += 1
    dataset.touch()
    return dataset, sizes


def version_of(dataset, owner):
    return freeze_version(dataset, user=owner)


def tiny_network(owner, *, name="tiny", image_size=16) -> CustomNetwork:
    return CustomNetwork.objects.create(owner=owner, name=name, spec=TINY_SPEC, image_size=image_size)


def wait_for(predicate, *, timeout: float, interval: float = 0.1, what: str = "condition", log=None):
    """Return predicate()'s first truthy value, or fail naming `what` (and the worker log) after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}" + (f"\n--- worker log ---\n{log()[-6000:]}"
                                                                             if log else ""))


def finished(run_id: int, *, timeout: float = 120, log=None) -> TrainingRun:
    """Wait until the run reaches a final status and return it."""
    final = (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED)
    return wait_for(lambda: TrainingRun.objects.filter(pk=run_id, status__in=final).first(), timeout=timeout,
                    what=f"run {run_id} to finish", log=log)
