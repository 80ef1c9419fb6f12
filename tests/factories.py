"""Rows and files tests build directly: datasets of coloured squares, versions, runs, evaluations, saved models.

Plain functions; the fixtures that call them live in the conftest.py files.
"""

from __future__ import annotations

import io
import itertools
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import torch
from django.conf import settings
from django.utils import timezone
from PIL import Image as PILImage

from classifier.factory import create_model
from classifier.metrics import classification_metrics
from classifier.presets import EvalPreset
from classifier.weights import ModelCard, save_model
from training.config import TrainConfig
from webapp.datasets.models import Dataset, DatasetClass
from webapp.datasets.services.store import add_image
from webapp.datasets.services.versions import freeze_version
from webapp.runs.models import (
    CustomNetwork,
    EpochMetric,
    EvalPrediction,
    Evaluation,
    ModelArtifact,
    RunStatus,
    TrainingRun,
)

COLOURS = {"red": (200, 40, 40), "green": (40, 180, 60), "blue": (40, 60, 200), "yellow": (220, 210, 40)}
SPLITS = {"train": 12, "val": 4, "test": 5}  # enough for the tiny CNN to learn the colours
FEW = {"train": 2, "val": 2, "test": 3}  # pages and classification: a handful of images per class
SMALL = {"train": 3, "val": 1, "test": 2}  # a run's own version when a test gives none
PETS = ("cat", "dog", "fox")
# A tiny CNN: trains a few epochs of 16 px images in about a second on a shared CPU.
TINY_SPEC = [
    {"type": "conv", "channels": 8, "kernel": 3},
    {"type": "relu"},
    {"type": "maxpool", "kernel": 2},
    {"type": "conv", "channels": 16, "kernel": 3},
    {"type": "relu"},
    {"type": "globalavgpool"},
]
FINAL = (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED)

_names = itertools.count(1)


def png(pixels: np.ndarray) -> bytes:
    """Return (H, W, 3) uint8 pixels as PNG bytes."""
    out = io.BytesIO()
    PILImage.fromarray(pixels).save(out, format="PNG")
    return out.getvalue()


def jpeg(pixels: np.ndarray) -> bytes:
    """Return (H, W, 3) uint8 pixels as JPEG bytes."""
    out = io.BytesIO()
    PILImage.fromarray(pixels).save(out, format="JPEG", quality=92)
    return out.getvalue()


def noisy_square(colour, *, size: int, rng: np.random.Generator) -> np.ndarray:
    """Return (size, size, 3) uint8: `colour` with uniform noise of +-40 on every channel."""
    noise = rng.integers(-40, 40, size=(size, size, 3))
    return np.clip(np.array(colour) + noise, 0, 255).astype(np.uint8)


def colour_image(name: str, *, size: int = 16, seed: int = 0) -> np.ndarray:
    """Return (size, size, 3) uint8: a noisy square of the colour `name`."""
    return noisy_square(COLOURS[name], size=size, rng=np.random.default_rng(seed))


def make_dataset(owner, *, name="Squares", classes=("red", "green", "blue"), per_split=None, size=16,
                 seed=0) -> Dataset:
    """Return a dataset of noisy squares, one colour per class, `per_split` images per class and split.

    A class named for a colour in COLOURS is that colour; any other class gets the palette's colour at its position.
    """
    rng = np.random.default_rng(seed)
    palette = list(COLOURS.values())
    dataset = Dataset.objects.create(owner=owner, name=name)
    for position, class_name in enumerate(classes):
        colour = COLOURS.get(class_name, palette[position % len(palette)])
        label = DatasetClass.objects.create(dataset=dataset, name=class_name, position=position)
        for split, count in (per_split or SPLITS).items():
            for n in range(count):
                pixels = noisy_square(colour, size=size, rng=rng)
                outcome = add_image(dataset, png(pixels), name=f"{class_name}-{split}-{n}.png", label=label,
                                    split=split)
                assert outcome.accepted, outcome
    dataset.touch()
    return dataset


def make_version(owner, dataset=None, **dataset_options):
    """Return a frozen version of `dataset`, or of a new make_dataset(owner, **dataset_options)."""
    return freeze_version(dataset or make_dataset(owner, **dataset_options), user=owner)


def images_by_class(version, split="test") -> dict:
    """Return {class name: [images of `split`, oldest first]} of a version."""
    images = {}
    for entry in version.entries.filter(split=split).select_related("image").order_by("class_index", "image_id"):
        images.setdefault(version.class_names[entry.class_index], []).append(entry.image)
    return images


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


def tiny_network(owner, *, name="tiny", image_size=16) -> CustomNetwork:
    return CustomNetwork.objects.create(owner=owner, name=name, spec=TINY_SPEC, image_size=image_size)


def make_run(owner, version=None, *, status=RunStatus.SUCCEEDED, epochs=3, curves=None, silent_for_s=None,
             config=None, **fields) -> TrainingRun:
    """Return a run row as a launch and a worker would leave it, without a worker.

    `curves` EpochMetric rows (by default one per epoch, none for a queued run) have a falling loss and a rising
    accuracy; `silent_for_s` sets the last heartbeat that many seconds ago; `config` overrides the TrainConfig
    (a 32 px resnet18_small by default); `fields` set the row's own columns (name, error, attempts, ...).
    """
    version = version or make_version(owner, name=f"Squares {next(_names)}", per_split=SMALL)
    values = TrainConfig(**{"arch": "resnet18_small", "image_size": 32, "epochs": epochs, "batch_size": 4,
                            **(config or {})}).to_dict()
    succeeded = status == RunStatus.SUCCEEDED
    heartbeat = timezone.now() - timedelta(seconds=silent_for_s) if silent_for_s is not None else None
    row = {"worker": "celery@box", "device": "cpu", "train_seconds": 12.5 if succeeded else None,
           "best_epoch": epochs if succeeded else None, **fields}
    run = TrainingRun.objects.create(owner=owner, version=version, arch=values["arch"], config=values, status=status,
                                     heartbeat_at=heartbeat, **row)
    TrainingRun.objects.filter(pk=run.pk).update(output_dir=f"runs/{run.pk}")
    run.refresh_from_db()
    curves = (0 if status == RunStatus.QUEUED else epochs) if curves is None else curves
    for e in range(1, curves + 1):
        EpochMetric.objects.create(run=run, epoch=e, train_loss=2.0 / e, train_accuracy=0.3 * e / epochs + 0.5,
                                   val_loss=2.2 / e, val_accuracy=0.25 * e / epochs + 0.5, lr=0.1 / e,
                                   images_per_s=100.0 * e, seconds=1.0)
    return run


def make_evaluation(run, outcomes, *, split="test", version=None):
    """Return an Evaluation whose predictions are `outcomes`: [(image, true index, predicted index, strength)].

    `strength` is the logit of the predicted class (others are 0), so a larger one means more confidence.
    """
    version = version or run.version
    names = list(version.class_names)
    logits = torch.zeros(len(outcomes), len(names), dtype=torch.float64)  # (N, C)
    targets = torch.tensor([true for _, true, _, _ in outcomes])  # (N,)
    for row, (_, _, pred, strength) in enumerate(outcomes):
        logits[row, pred] = strength
    metrics = classification_metrics(logits, targets, names)
    evaluation = Evaluation.objects.create(
        run=run, version=version, split=split, class_names=names, num_samples=len(outcomes),
        top1=metrics["top1"], top5=metrics["top5"], macro_f1=metrics["macro"]["f1"], ece=metrics["ece"],
        metrics=metrics)
    probs = logits.softmax(dim=1)  # (N, C)
    top = probs.topk(min(5, len(names)), dim=1)
    for row, (image, true, pred, _) in enumerate(outcomes):
        EvalPrediction.objects.create(
            evaluation=evaluation, image=image, true_index=true, predicted_index=pred,
            confidence=float(probs[row, pred]),
            top5=[[int(i), float(p)] for i, p in zip(top.indices[row], top.values[row], strict=True)])
    return evaluation


def confused_evaluation(run, images):
    """Return an evaluation of 9 test images (3 per class) where 2 cats pass for dogs and 1 fox for a cat."""
    cat, dog, fox = images["cat"], images["dog"], images["fox"]
    outcomes = [
        (cat[0], 0, 0, 4.0), (cat[1], 0, 1, 3.0), (cat[2], 0, 1, 1.0),
        (dog[0], 1, 1, 5.0), (dog[1], 1, 1, 2.0), (dog[2], 1, 1, 3.0),
        (fox[0], 2, 0, 2.5), (fox[1], 2, 2, 4.0), (fox[2], 2, 2, 1.5),
    ]
    return make_evaluation(run, outcomes)


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


def wait_for(predicate, *, timeout: float = 60, interval: float = 0.1, what: str = "condition", log=None):
    """Return predicate()'s first truthy value, or fail naming `what` (and the worker log) after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    tail = f"\n--- worker log ---\n{log()[-6000:]}" if log else ""
    raise AssertionError(f"timed out after {timeout}s waiting for {what}{tail}")


def wait_until_finished(run_id: int, *, timeout: float = 120, log=None) -> TrainingRun:
    """Wait until the run reaches a final status and return it."""
    return wait_for(lambda: TrainingRun.objects.filter(pk=run_id, status__in=FINAL).first(), timeout=timeout,
                    what=f"run {run_id} to finish", log=log)
