"""Rows the run page tests build directly: a frozen version, a finished run with epochs, an evaluation.

Test modules import the `*_fixture` functions to use the fixtures `private_media`, `pets` and `finished`.
"""

import pytest
import torch

from classifier.metrics import classification_metrics
from tests.hostile_files import solid_png
from training.config import TrainConfig
from webapp.datasets.models import Dataset, DatasetClass
from webapp.datasets.services.store import add_image
from webapp.datasets.services.versions import freeze_version
from webapp.runs.models import EpochMetric, EvalPrediction, Evaluation, RunStatus, TrainingRun

_counter = iter(range(10_000, 1_000_000))


def make_version(owner, *, name="Pets", classes=("cat", "dog", "fox"), per_split=None):
    """Return (version, {class name: [test images]}): each class gets `per_split` images per split."""
    per_split = per_split or {"train": 2, "val": 1, "test": 3}
    dataset = Dataset.objects.create(owner=owner, name=name)
    test_images = {}
    for position, class_name in enumerate(classes):
        label = DatasetClass.objects.create(dataset=dataset, name=class_name, position=position)
        for split, n in per_split.items():
            for _ in range(n):
                i = next(_counter)
                data = solid_png(8, 8, (i % 251, (i // 251) % 251, 37))
                outcome = add_image(dataset, data, name=f"{class_name}-{i}.png", label=label, split=split)
                assert outcome.accepted, outcome
                if split == "test":
                    test_images.setdefault(class_name, []).append(outcome.image)
    dataset.touch()
    return freeze_version(dataset, user=owner), test_images


def make_run(owner, version, *, epochs=3, status=RunStatus.SUCCEEDED, name="", **config):
    """Return a run with `epochs` EpochMetric rows whose loss falls and accuracy rises."""
    values = TrainConfig(arch="resnet18_small", image_size=32, epochs=epochs, batch_size=4, **config).to_dict()
    run = TrainingRun.objects.create(owner=owner, version=version, arch=values["arch"], config=values, status=status,
                                     name=name, train_seconds=12.5 if status == RunStatus.SUCCEEDED else None,
                                     best_epoch=epochs if status == RunStatus.SUCCEEDED else None,
                                     worker="celery@box", device="cpu")
    for e in range(1, epochs + 1):
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


@pytest.fixture(autouse=True, name="private_media")
def private_media_fixture(settings, tmp_path):
    """Point storage at this test's own empty folder (images and weights land there)."""
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = str(root)
    return root


@pytest.fixture(name="pets")
def pets_fixture(owner, private_media):
    """Return (version, {class: [3 test images]}) of the owner's three-class dataset "Pets"."""
    return make_version(owner)


@pytest.fixture(name="finished")
def finished_fixture(owner, pets):
    """Return (run, evaluation, images): a succeeded run and its confused test evaluation."""
    version, images = pets
    run = make_run(owner, version, name="resnet on pets")
    return run, confused_evaluation(run, images), images
