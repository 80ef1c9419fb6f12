"""Recipes that fit the data: settings from the architecture and the training set's size, classes and shapes.

`recipe_for(arch, train_images=..., ...)` returns TrainConfig overrides and the one line that says why,
e.g. "240 training images → 72 epochs of 7 steps, batch 32, lr 0.0014, 64 px". The rule is a budget of
optimisation *steps*, not epochs: a network needs a number of updates to learn whatever the data's size,
so a small set gets many epochs and a large one few, capped so it does not run forever.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from training.config import defaults_for
from training.data import DataSource
from training.finetune import describe

# (fewest, most) optimisation steps when training from scratch. Measured on 240 training images
# (test accuracy, batch 32, one-cycle AdamW): ResNet-18-small on brick/grass/gravel patches 42% after
# the 12 steps of 4 epochs at batch 64, 88% after 63 steps, 99% after 119; on digits 92% after 119 and
# 93% after 476, so 500 leaves it room on harder sets. The 5-layer custom CNN on digits: 84% after 119,
# 93% after 805. ViT-tiny on digits: 17% after 9, 43% after 238, 69% after 476, still climbing.
STEP_BUDGET: dict[str, tuple[int, int]] = {
    "resnet": (500, 6000),
    "vgg": (500, 6000),
    "custom": (800, 5000),
    "vit": (1500, 8000),  # no convolutional prior: a transformer needs far more updates to learn the same
}
PRETRAINED_STEP_BUDGET = (300, 3000)  # fine-tuning starts from features that already work
LARGE_SET_EPOCHS = {"scratch": 30, "pretrained": 10}  # epochs a large set gets, within the budget
WARMUP_SHARE = {"resnet": 0.25, "vgg": 0.25, "custom": 0.25, "vit": 0.25, "pretrained": 0.05}
PATIENCE_SHARE = 0.25  # early stopping: this share of the epochs without a better validation result
MIN_PATIENCE = 5
MIN_BATCH = 8  # below this, BatchNorm statistics from one batch are too noisy to train on
# Image sizes (px) each kind of architecture is sensible at, training from its own first layer.
SMALL_SIZES = (32, 64)  # the *_small variants and custom CNNs: stride-1 stems made for small inputs
LARGE_SIZES = (64, 224)  # ImageNet-shaped networks: they downsample 32x before the head
SIZE_MULTIPLE = 8


@dataclass(frozen=True)
class Recipe:
    """Settings for a run (TrainConfig field overrides) and why they were chosen."""

    settings: dict[str, Any]
    explanation: str  # one line a person reads on the launch form
    steps: int  # total optimisation steps planned
    steps_per_epoch: int
    notes: list[str] = field(default_factory=list)  # what was bounded or rounded, in words

    def to_dict(self) -> dict[str, Any]:
        """Return the recipe as JSON-ready values."""
        return {"settings": dict(self.settings), "explanation": self.explanation, "steps": self.steps,
                "steps_per_epoch": self.steps_per_epoch, "notes": list(self.notes)}


def recipe_for(arch: str, *, train_images: int, num_classes: int, median_size: tuple[int, int] | None = None,
               has_val: bool = True, pretrained: str | None = None, spec: list[dict] | None = None,
               given: Mapping[str, Any] | None = None) -> Recipe:
    """Return the settings that fit `train_images` images of `num_classes` classes for `arch`.

    `median_size` is the images' median (width, height) in px; None keeps the architecture's default size.
    The result starts from `defaults_for(arch)` and sets batch size, epochs, learning rate, warm-up, image
    size and early stopping; every other setting keeps the family's value. `given` holds what a person
    chose themselves: those values stay, and the rest is worked out around them (a given batch size gets
    its learning rate and its number of epochs).
    """
    from classifier.registry import model_info

    if train_images < 1:
        raise ValueError("there are no training images: a recipe needs at least one")
    if num_classes < 2:
        raise ValueError(f"a classifier needs at least two classes, got {num_classes}")
    info = model_info(arch)
    settings = defaults_for(arch, pretrained=pretrained)
    kind = "pretrained" if pretrained is not None else "scratch"
    notes: list[str] = []

    given = dict(given or {})
    batch = given.get("batch_size") or batch_size_for(train_images, settings["batch_size"])
    steps_per_epoch = max(1, train_images // batch)  # training.batches drops the ragged last batch
    fewest, most = PRETRAINED_STEP_BUDGET if pretrained is not None else STEP_BUDGET[info.family]
    wanted = math.ceil(LARGE_SET_EPOCHS[kind] * train_images / batch)
    steps = min(max(wanted, fewest), most)
    epochs = given.get("epochs") or max(1, math.ceil(steps / steps_per_epoch))
    lr = scaled_lr(settings["lr"], batch, settings["batch_size"], given.get("optimizer", settings["optimizer"]))
    warmup_share = WARMUP_SHARE["pretrained" if pretrained is not None else info.family]

    settings.update(batch_size=batch, epochs=epochs, lr=lr,
                    warmup_epochs=round(warmup_share * epochs, 3) if epochs > 1 else 0.0)
    if has_val:
        settings.update(monitor="val_accuracy", patience=max(MIN_PATIENCE, math.ceil(PATIENCE_SHARE * epochs)))
    else:
        settings.update(patience=0)
    settings["image_size"] = image_size_for(arch, median_size, spec=spec)
    settings.update(given)
    batch, epochs, lr, size = (settings[k] for k in ("batch_size", "epochs", "lr", "image_size"))
    if median_size is not None and "image_size" not in given:
        notes.append(f"{size} px from a median image of {median_size[0]}×{median_size[1]} px")
    if has_val and settings["patience"]:
        notes.append(f"stops early after {settings['patience']} epochs without a better validation accuracy, "
                     f"keeping the best epoch's weights")
    line = (f"{train_images} training images → {epochs} epochs of {steps_per_epoch} step"
            f"{'s' if steps_per_epoch != 1 else ''}, batch {batch}, lr {lr:.2g}, {size} px")
    if pretrained is not None:
        left = [word for key, word in (("lr", "a lower learning rate"), ("epochs", "fewer epochs"),
                                       ("warmup_epochs", "a warm-up")) if key not in given]
        mode = describe(settings.get("finetune", "full"), settings.get("backbone_lr_scale", 0.1))
        line += f"; fine-tuning from weights, {mode}"
        if left:
            line += f" ({', '.join(left)}: the {info.family} fine-tune defaults)"
    return Recipe(settings=settings, explanation=line, steps=epochs * steps_per_epoch,
                  steps_per_epoch=steps_per_epoch, notes=notes)


def batch_size_for(train_images: int, family_batch: int) -> int:
    """Return the family's batch size, smaller for small sets: at most a quarter of them, a power of two."""
    # Several steps per epoch: a 240-image set in batches of 64 makes 3 updates an epoch, and BatchNorm's
    # running statistics (what validation uses) lag far behind so few updates.
    quarter = 2 ** max(0, int(math.log2(max(1, train_images // 4))))
    return max(1, min(family_batch, max(MIN_BATCH, quarter), train_images))


def scaled_lr(lr: float, batch: int, base_batch: int, optimizer: str) -> float:
    """Return `lr` (tuned at `base_batch`) for `batch`: square-root scaling for AdamW, linear for SGD."""
    ratio = batch / base_batch
    scaled = lr * (ratio if optimizer == "sgd" else math.sqrt(ratio))
    return float(f"{scaled:.2g}")  # a number a person can read and type back


def image_size_for(arch: str, median_size: tuple[int, int] | None, *, spec: list[dict] | None = None) -> int:
    """Return the training size for images of `median_size` (w, h): their shorter side, within `arch`'s range."""
    from classifier.registry import check_image_size, model_info

    info = model_info(arch)
    if median_size is None:
        return info.default_image_size
    low, high = SMALL_SIZES if info.small else LARGE_SIZES
    multiple = info.patch_size if info.family == "vit" and not info.small else SIZE_MULTIPLE
    low = max(low, math.ceil(info.min_image_size / multiple) * multiple)
    side = min(median_size)
    size = min(max(round(side / multiple) * multiple, low), high // multiple * multiple)
    try:
        check_image_size(arch, size, spec)
    except (ValueError, TypeError):  # a custom layer spec made for one size only
        return info.default_image_size
    return size


def median_image_size(sizes: Sequence[tuple[int, int]]) -> tuple[int, int] | None:
    """Return the median (width, height) of `sizes`, or None for none."""
    if not sizes:
        return None
    return int(statistics.median(w for w, _ in sizes)), int(statistics.median(h for _, h in sizes))


def read_image_sizes(sources: Sequence[Any], *, sample: int = 256) -> list[tuple[int, int]]:
    """Return (width, height) of up to `sample` evenly spaced images (paths or callables that open one).

    Only headers are read, and a photo whose EXIF says it stands on its side counts as turned upright.
    """
    from PIL import Image

    stride = max(1, len(sources) // sample)
    sizes = []
    for source in list(sources)[::stride][:sample]:
        try:
            stream = source() if callable(source) else open(source, "rb")
            with stream, Image.open(stream) as image:
                width, height = image.size
                if image.getexif().get(0x0112) in (5, 6, 7, 8):  # EXIF orientations that swap the sides
                    width, height = height, width
        except (OSError, ValueError, SyntaxError):
            continue  # an unreadable image is the cache's to report, not the recipe's
        sizes.append((width, height))
    return sizes


def recipe_for_source(source: DataSource, arch: str, *, pretrained: str | None = None,
                      spec: list[dict] | None = None, given: Mapping[str, Any] | None = None) -> Recipe:
    """Return recipe_for() `arch` on a labelled source: its split counts and its training images' median size."""
    counts = source.counts()
    train = [r.source for r in source.records if r.split == "train"]
    return recipe_for(arch, train_images=counts["train"], num_classes=len(source.class_names),
                      median_size=median_image_size(read_image_sizes(train)), has_val=counts["val"] > 0,
                      pretrained=pretrained, spec=spec, given=given)
