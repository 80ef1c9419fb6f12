"""Rows and files the classification tests build directly: a labelled version and a saved tiny model.

No training through the worker: a model is built, saved with classifier.weights.save_model and given a
succeeded TrainingRun with a weights ModelArtifact, as a finished run would leave it.
"""

from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np
import torch
from django.conf import settings
from PIL import Image as PILImage

from classifier.factory import create_model
from classifier.presets import EvalPreset
from classifier.weights import ModelCard, save_model
from training.config import TrainConfig
from webapp.datasets.models import Dataset, DatasetClass
from webapp.datasets.services.store import add_image
from webapp.datasets.services.versions import freeze_version
from webapp.runs.models import ModelArtifact, RunStatus, TrainingRun

COLOURS = {"red": (210, 40, 40), "green": (40, 190, 60), "blue": (40, 60, 210)}
TINY_SPEC = [
    {"type": "conv", "channels": 8, "kernel": 3},
    {"type": "relu"},
    {"type": "maxpool", "kernel": 2},
    {"type": "conv", "channels": 16, "kernel": 3},
    {"type": "relu"},
    {"type": "globalavgpool"},
]


def png(pixels: np.ndarray) -> bytes:
    out = io.BytesIO()
    PILImage.fromarray(pixels).save(out, format="PNG")
    return out.getvalue()


def jpeg(pixels: np.ndarray) -> bytes:
    out = io.BytesIO()
    PILImage.fromarray(pixels).save(out, format="JPEG", quality=92)
    return out.getvalue()


def colour_image(name: str, *, size: int = 16, seed: int = 0) -> np.ndarray:
    """Return (size, size, 3) uint8: a noisy square of one colour."""
    rng = np.random.default_rng(seed)
    noise = rng.integers(-40, 40, size=(size, size, 3))
    return np.clip(np.array(COLOURS[name]) + noise, 0, 255).astype(np.uint8)


def colour_version(owner, *, name="Colours", per_split=None, size=16):
    """Return a frozen version of noisy colour squares, one class per colour."""
    per_split = per_split or {"train": 2, "val": 2, "test": 3}
    dataset = Dataset.objects.create(owner=owner, name=name)
    seed = 0
    for position, colour in enumerate(COLOURS):
        label = DatasetClass.objects.create(dataset=dataset, name=colour, position=position)
        for split, count in per_split.items():
            for _ in range(count):
                seed += 1
                outcome = add_image(dataset, png(colour_image(colour, size=size, seed=seed)),
                                    name=f"{colour}-{seed}.png", label=label, split=split)
                assert outcome.accepted, outcome
    dataset.touch()
    return freeze_version(dataset, user=owner)


def tiny_model(arch: str = "custom", *, num_classes: int = 3, image_size: int = 16, spec=TINY_SPEC, seed: int = 0):
    """Return a freshly initialised small model (deterministic)."""
    torch.manual_seed(seed)
    return create_model(arch, num_classes=num_classes, image_size=image_size,
                        spec=spec if arch == "custom" else None).eval()


def saved_run(owner, version, *, arch: str = "custom", image_size: int = 16, spec=TINY_SPEC, name: str = "tiny",
              model=None) -> TrainingRun:
    """Return a succeeded run whose weights file holds `model` (a fresh tiny model by default)."""
    spec = spec if arch == "custom" else None
    class_names = list(version.class_names)
    model = model or tiny_model(arch, num_classes=len(class_names), image_size=image_size, spec=spec)
    config = TrainConfig(arch=arch, image_size=image_size, epochs=1, batch_size=4, spec=spec).to_dict()
    run = TrainingRun.objects.create(owner=owner, version=version, arch=arch, config=config, name=name,
                                     status=RunStatus.SUCCEEDED, best_epoch=1, train_seconds=1.0, device="cpu")
    relative = f"runs/{run.pk}-{int(time.time() * 1e6)}/model.safetensors"
    card = ModelCard(arch=arch, num_classes=len(class_names), class_names=class_names, image_size=image_size,
                     preset=EvalPreset(size=image_size).to_dict(), spec=spec, extra={"run_id": run.pk})
    path = Path(settings.MEDIA_ROOT) / relative
    save_model(path, model, card)
    run.output_dir = str(Path(relative).parent)
    run.save(update_fields=["output_dir"])
    ModelArtifact.objects.create(run=run, kind=ModelArtifact.Kind.WEIGHTS, path=relative,
                                 size_bytes=path.stat().st_size)
    return run


def wait_for(predicate, *, timeout: float = 60, interval: float = 0.05, what: str = "condition", log=None):
    """Return predicate()'s first truthy value, or fail naming `what` (and the worker log)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    tail = f"\n--- worker log ---\n{log()[-6000:]}" if log else ""
    raise AssertionError(f"timed out after {timeout}s waiting for {what}{tail}")
