"""Settings that fit the data: training.recipes on the size, classes and image shapes of what a run trains on.

The launch form (and so the API) fills every empty setting from here, and keeps the recipe's one line in the
run's config under RECIPE_KEY, so the run page can say why its settings are what they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from training.recipes import Recipe, median_image_size, recipe_for
from webapp.datasets.models import Split
from webapp.runs.services import datasets

RECIPE_KEY = "recipe"  # the run config's entry that is not a TrainConfig field: the recipe's explanation
# Entries a run config may keep beside the TrainConfig fields (what the run page shows of its origin).
GPUS_KEY = "gpus"  # how many devices of one worker train the run together (absent: 1)
NOT_TRAIN_SETTINGS = {RECIPE_KEY, "init_from", GPUS_KEY}


@dataclass(frozen=True)
class DataProfile:
    """What a recipe needs to know about the data a launch would train on."""

    train_images: int
    num_classes: int
    median_size: tuple[int, int] | None  # (width, height) px of the training images, None when unknown
    has_val: bool
    mirror: bool  # the dataset's answers to "may these images be mirrored / rotated?"
    rotate: bool


def data_profile(dataset, version=None) -> DataProfile:
    """Return the profile of `version`, or of `dataset` as a launch would freeze it."""
    names, per_class = datasets.counts_for_launch(dataset, version)
    total = {split: sum(counts.get(split, 0) for counts in per_class.values()) for split in (Split.TRAIN, Split.VAL)}
    return DataProfile(train_images=total[Split.TRAIN], num_classes=len(names),
                       median_size=median_image_size(datasets.training_image_sizes(dataset, version)),
                       has_val=total[Split.VAL] > 0, mirror=dataset.allow_mirror, rotate=dataset.allow_rotate)


def launch_recipe(arch: str, profile: DataProfile, *, pretrained: bool = False, spec: list[dict] | None = None,
                  given: dict[str, Any] | None = None) -> Recipe | None:
    """Return the recipe for `arch` on the profiled data around the `given` settings; None if it cannot train."""
    if profile.train_images < 1 or profile.num_classes < 2:
        return None  # the form says what is missing beside the dataset field
    return recipe_for(arch, train_images=profile.train_images, num_classes=profile.num_classes,
                      median_size=profile.median_size, has_val=profile.has_val,
                      pretrained="imagenet" if pretrained else None, spec=spec, given=given)


def augmentation_note(profile: DataProfile) -> str:
    """Return what the dataset's answers let augmentation do, in words."""
    moves = [word for word, allowed in (("mirrored", profile.mirror), ("rotated", profile.rotate)) if allowed]
    if not moves:
        return "The dataset allows neither mirroring nor rotating its images (its settings page asks)."
    return f"The dataset allows its images to be {' and '.join(moves)}; every augmentation but None does so."


def train_settings(config: dict) -> dict:
    """Return a stored run config without the entries that are not TrainConfig fields (the recipe line, ...)."""
    return {key: value for key, value in config.items() if key not in NOT_TRAIN_SETTINGS}
