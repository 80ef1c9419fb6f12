"""TrainConfig: every setting of a training run, validated with a message per field."""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
from dataclasses import dataclass
from typing import Any

from training.finetune import FINETUNE_MODES, finetune_defaults
from training.optim import OPTIMIZERS, SCHEDULERS

MIXED_PRECISION = ("auto", "bf16", "off")
CHANNELS_LAST = ("auto", "on", "off")
CLASS_BALANCE = ("none", "weights", "sampler")
FINETUNE = tuple(FINETUNE_MODES)
DEVICES = ("auto", "cpu", "cuda")
MONITOR = ("val_accuracy", "val_loss")


class ConfigError(ValueError):
    """Invalid settings; `.errors` maps each field name to a message a person can act on."""

    def __init__(self, errors: dict[str, str]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{name}: {message}" for name, message in self.errors.items()))


@dataclass(kw_only=True)
class TrainConfig:
    """How one model learns; `defaults_for(arch)` gives good values per architecture family."""

    arch: str = "resnet18_small"
    image_size: int = 32
    epochs: int = 10
    batch_size: int = 64
    optimizer: str = "adamw"
    lr: float = 2e-3
    momentum: float = 0.9  # SGD momentum; AdamW's beta1
    nesterov: bool = False
    weight_decay: float = 0.05
    scheduler: str = "onecycle"
    warmup_epochs: float = 0.0
    label_smoothing: float = 0.1
    augment: str = "light"
    mirror: bool = False  # the data's answer to "May these images be mirrored?" (never for text or digits)
    rotate: bool = False  # "May they be rotated?": quarter turns, for images with no up (textures, cells, aerial)
    mixed_precision: str = "auto"
    channels_last: str = "auto"
    seed: int = 0
    deterministic: bool = False
    patience: int = 0  # epochs without improvement before stopping; 0 = never stop early
    monitor: str = "val_accuracy"  # what picks the best epoch and drives patience
    class_balance: str = "none"
    finetune: str = "full"
    backbone_lr_scale: float = 0.1  # with finetune="lower_lr": the backbone's lr relative to the head's
    pretrained: str | None = None  # None, "imagenet" or a weights file (.pth / .safetensors)
    spec: list[dict] | None = None  # the layer list for arch "custom" (None: its default CNN)
    grad_clip: float = 0.0  # max gradient norm; 0 = off
    compile: bool = False
    device: str = "auto"
    keep_last: int = 2  # epoch checkpoints kept besides the best one

    def validate(self) -> None:
        """Raise ConfigError listing every invalid field at once."""
        errors = _field_errors(self)
        if errors:
            raise ConfigError(errors)

    def to_dict(self) -> dict[str, Any]:
        """Return the settings as JSON-ready values."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Build and validate a config from a dict (older layouts upgraded), rejecting unknown keys by name."""
        data = upgrade_dict(data)
        known = [f.name for f in dataclasses.fields(cls)]
        errors = {}
        for key in data:
            if key not in known:
                close = difflib.get_close_matches(str(key), known, n=1)
                errors[str(key)] = "unknown setting" + (f"; did you mean {close[0]!r}?" if close else "")
        if errors:
            raise ConfigError(errors)
        config = cls(**data)
        config.validate()
        return config


def upgrade_dict(data: dict[str, Any]) -> dict[str, Any]:
    """Return a saved config dict in today's layout, so runs saved by older versions resume exactly."""
    data = dict(data)
    # Before "mirror" there was "flip", on by default and always saved; a saved config without "mirror"
    # that has "flip" trained with its value. One without either is new and takes mirror's default (False).
    if "flip" in data:
        flip = data.pop("flip")
        if "mirror" in data and data["mirror"] != flip:
            raise ConfigError({"flip": "is the old name of 'mirror'; give only 'mirror'"})
        data["mirror"] = flip
    return data


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _choice(value, choices) -> str | None:
    return None if value in choices else f"must be one of {', '.join(choices)} (got {value!r})"


def _int_range(value, low: int, high: int) -> str | None:
    if not _is_int(value) or not low <= value <= high:
        return f"must be a whole number from {low} to {high} (got {value!r})"
    return None


def _number_range(value, low: float, high: float, *, high_open: bool = False) -> str | None:
    ok = _is_number(value) and low <= value and (value < high if high_open else value <= high)
    if not ok:
        return f"must be a number from {low:g} to {high:g}{' (exclusive)' if high_open else ''} (got {value!r})"
    return None


def _field_errors(c: TrainConfig) -> dict[str, str]:
    """Return {field: message} for every invalid field of `c`."""
    checks = {
        "image_size": _int_range(c.image_size, 1, 4096),
        "epochs": _int_range(c.epochs, 1, 100_000),
        "batch_size": _int_range(c.batch_size, 1, 65_536),
        "optimizer": _choice(c.optimizer, OPTIMIZERS),
        "lr": None if _is_number(c.lr) and 0 < c.lr <= 100 else f"must be a number above 0, at most 100 (got {c.lr!r})",
        "momentum": _number_range(c.momentum, 0, 1, high_open=True),
        "nesterov": None if isinstance(c.nesterov, bool) else "must be true or false",
        "weight_decay": _number_range(c.weight_decay, 0, 10),
        "scheduler": _choice(c.scheduler, SCHEDULERS),
        "warmup_epochs": _number_range(c.warmup_epochs, 0, 100_000),
        "label_smoothing": _number_range(c.label_smoothing, 0, 1, high_open=True),
        "augment": _augment_error(c.augment),
        "mirror": None if isinstance(c.mirror, bool) else "must be true or false",
        "rotate": None if isinstance(c.rotate, bool) else "must be true or false",
        "mixed_precision": _choice(c.mixed_precision, MIXED_PRECISION),
        "channels_last": _choice(c.channels_last, CHANNELS_LAST),
        "seed": _int_range(c.seed, 0, 2**31 - 1),
        "deterministic": None if isinstance(c.deterministic, bool) else "must be true or false",
        "patience": _int_range(c.patience, 0, 100_000),
        "monitor": _choice(c.monitor, MONITOR),
        "class_balance": _choice(c.class_balance, CLASS_BALANCE),
        "finetune": _choice(c.finetune, FINETUNE),
        "backbone_lr_scale": _number_range(c.backbone_lr_scale, 0, 1),
        "grad_clip": _number_range(c.grad_clip, 0, 1e6),
        "compile": None if isinstance(c.compile, bool) else "must be true or false",
        "device": _choice(c.device, DEVICES),
        "keep_last": _int_range(c.keep_last, 1, 1000),
    }
    errors = {name: message for name, message in checks.items() if message}
    errors.update(_model_errors(c, errors))
    if "epochs" not in errors and "warmup_epochs" not in errors and c.warmup_epochs >= c.epochs:
        errors["warmup_epochs"] = f"must be less than the number of epochs ({c.epochs})"
    if c.nesterov is True and c.optimizer == "sgd" and _is_number(c.momentum) and c.momentum == 0:
        errors["nesterov"] = "needs a momentum above 0"
    if c.finetune in ("head", "lower_lr") and c.pretrained is None:
        errors["finetune"] = f"{c.finetune!r} fine-tuning needs pretrained weights; choose 'full' or set pretrained"
    return errors


def _augment_error(name) -> str | None:
    from classifier.presets import augment_presets

    return _choice(name, list(augment_presets()))


def _model_errors(c: TrainConfig, errors: dict[str, str]) -> dict[str, str]:
    """Return errors about the architecture, its input size, its layer spec and its pretrained weights."""
    from classifier.registry import check_image_size, model_info

    try:
        info = model_info(c.arch)
    except KeyError as exc:
        return {"arch": str(exc)}
    out = {}
    if info.family == "custom" and c.spec is not None and not (isinstance(c.spec, list) and c.spec):
        out["spec"] = "must be a non-empty list of layers (leave it out for the default 5-layer CNN)"
    elif info.family != "custom" and c.spec is not None:
        out["spec"] = f"a layer spec only applies to the 'custom' architecture, not {c.arch}"
    if "image_size" not in errors and "spec" not in out:
        try:
            check_image_size(c.arch, c.image_size, c.spec)
        except (ValueError, TypeError) as exc:
            out["spec" if info.family == "custom" else "image_size"] = str(exc)
    if c.pretrained == "imagenet" and not info.imagenet_weights:
        out["pretrained"] = f"{c.arch} has no ImageNet weights; train from scratch or give a weights file"
    elif c.pretrained not in (None, "imagenet"):
        if not isinstance(c.pretrained, str | os.PathLike) or not os.path.isfile(c.pretrained):
            out["pretrained"] = f"no weights file at {c.pretrained!r} (give None, 'imagenet' or a file path)"
    return out


# Per-family recipes for training from scratch, tuned on 32 px digits on a 2-core CPU
# (bench/accuracy_digits.py): AdamW with one-cycle reached 99% in 3 epochs where SGD with momentum,
# at any of 0.05-0.2, was still at 88-98%. ViT wants a lower peak lr: 1e-3 gave 97-98% where 2e-3 with
# cosine and warm-up gave 96%.
_ADAMW = dict(optimizer="adamw", lr=2e-3, momentum=0.9, nesterov=False, weight_decay=0.05)
_FAMILY_DEFAULTS: dict[str, dict[str, Any]] = {
    "resnet": dict(_ADAMW, scheduler="onecycle", warmup_epochs=0.0, label_smoothing=0.1, augment="light",
                   batch_size=64, epochs=10),
    "vgg": dict(_ADAMW, scheduler="onecycle", warmup_epochs=0.0, label_smoothing=0.1, augment="light",
                batch_size=64, epochs=10),
    "vit": dict(_ADAMW, lr=1e-3, scheduler="onecycle", warmup_epochs=0.0, label_smoothing=0.1, augment="light",
                batch_size=64, epochs=30),
    "custom": dict(_ADAMW, scheduler="onecycle", warmup_epochs=0.0, label_smoothing=0.1, augment="light",
                   batch_size=64, epochs=20),
}


def defaults_for(arch: str, *, pretrained: str | None = None) -> dict[str, Any]:
    """Return good settings for `arch` (its family's recipe plus its default image size).

    Starting from weights (`pretrained`: "imagenet" or a file) takes the family's fine-tune recipe on top
    (training.finetune: a lower learning rate, fewer epochs, a warm-up).
    """
    from classifier.registry import model_info

    info = model_info(arch)
    values = dict(_FAMILY_DEFAULTS[info.family], arch=arch, image_size=info.default_image_size)
    if pretrained is not None:
        values.update(finetune_defaults(info.family), pretrained=pretrained)
    return values

