"""The preprocessing presets a TrainConfig implies, and the cache resolution they read."""

from __future__ import annotations

from classifier.presets import IMAGENET_MEAN, IMAGENET_STD, EvalPreset, TrainPreset, augment_presets
from training.config import TrainConfig


def presets_for(config: TrainConfig) -> tuple[TrainPreset, EvalPreset]:
    """Return the training and evaluation presets for `config` (both read the same cache)."""
    # ImageNet statistics for every model: pretrained weights expect them, and from scratch they do no harm.
    augment = dict(augment_presets()[config.augment])
    moves = config.augment != "none"  # "none" means none: the data's permissions are not orders
    train = TrainPreset(size=config.image_size, mean=IMAGENET_MEAN, std=IMAGENET_STD, flip=config.mirror and moves,
                        rotate=config.rotate and moves, **augment)
    return train, train.eval_preset()


def cache_size_for(config: TrainConfig) -> int:
    """Return the resolution to build the image cache at for `config`."""
    return presets_for(config)[0].cache_size
