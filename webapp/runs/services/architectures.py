"""The architectures a user may pick, grouped by family, with sizes, defaults and pretrained availability."""

from __future__ import annotations

import functools

from classifier.factory import parameter_count
from classifier.netspec import SpecError, layer_shapes
from classifier.pretrained import available_imagenet_weights, imagenet_weights_path
from classifier.registry import list_models, model_info
from training.config import defaults_for

NETWORK_PREFIX = "net:"
NOMINAL_CLASSES = 10  # parameter counts are shown before the dataset (and so the head size) is known
FAMILY_LABELS = {"vgg": "VGG", "resnet": "ResNet", "vit": "ViT", "custom": "Your own networks"}
DEFAULT_ARCH = "resnet18_small"
# The defaults a page may show per architecture (the rest of TrainConfig keeps its own defaults).
FORM_DEFAULT_KEYS = ("image_size", "epochs", "batch_size", "optimizer", "lr", "weight_decay", "scheduler",
                     "warmup_epochs", "label_smoothing", "augment", "patience", "mixed_precision", "seed")
# TrainConfig fields the launch form shows and a re-run copies; empty means "the architecture's default".
CONFIG_FIELDS = (*FORM_DEFAULT_KEYS, "device", "finetune")


@functools.cache
def registry_params(name: str) -> int:
    """Return the parameter count of a registered architecture at its suggested size (cached: it never changes)."""
    return parameter_count(name, num_classes=NOMINAL_CLASSES, image_size=model_info(name).default_image_size)


def spec_params(spec, image_size: int) -> int | None:
    """Return the parameter count of a layer spec, or None when it does not fit `image_size`."""
    try:
        return sum(row.params for row in layer_shapes(spec, image_size=image_size, num_classes=NOMINAL_CLASSES))
    except (SpecError, ValueError, TypeError):
        return None


def pretrained_status(name: str, available: dict | None = None) -> tuple[bool, str]:
    """Return (weights usable now, the reason when not) for a registered architecture."""
    info = model_info(name)
    if not info.imagenet_weights:
        return False, f"{name} has no ImageNet weights; it trains from scratch."
    available = available_imagenet_weights() if available is None else available
    if name in available:
        return True, ""
    path = imagenet_weights_path(name)
    return False, (f"The ImageNet weights file for {name} ({path.name}) is not on this machine yet: an "
                   "administrator can download or upload it on the Pretrained weights page (Weights, in the menu).")


def form_defaults(name: str, *, pretrained: bool = False, image_size: int | None = None) -> dict:
    """Return the family recipe for `name` restricted to the fields the launch form shows."""
    values = defaults_for(name, pretrained="imagenet" if pretrained else None)
    if image_size is not None:
        values["image_size"] = image_size
    return {key: values[key] for key in FORM_DEFAULT_KEYS if key in values}


def registry_entry(name: str, available: dict) -> dict:
    """Return the page's description of one registered architecture."""
    info = model_info(name)
    ok, reason = pretrained_status(name, available)
    label = name if info.family != "custom" else "Small CNN (built in)"
    return {"value": name, "label": label, "family": info.family, "params": registry_params(name),
            "suggested_size": info.default_image_size, "patch_size": info.patch_size,
            "description": info.description, "pretrained_available": ok, "pretrained_reason": reason,
            "defaults": form_defaults(name),
            "pretrained_defaults": form_defaults(name, pretrained=True) if ok else None}


def network_entry(network) -> dict:
    """Return the page's description of one of the user's own networks."""
    return {"value": f"{NETWORK_PREFIX}{network.pk}", "label": network.name, "family": "custom",
            "params": spec_params(network.spec, network.image_size), "suggested_size": network.image_size,
            "patch_size": None, "description": f"Your network ({len(network.spec)} layers)",
            "pretrained_available": False, "pretrained_reason": "Your own networks train from scratch.",
            "defaults": form_defaults("custom", image_size=network.image_size), "pretrained_defaults": None}


def architecture_groups(networks) -> list[tuple[str, list[dict]]]:
    """Return [(family label, [entry, ...])] for every registered architecture and the given networks."""
    available = available_imagenet_weights()
    grouped: dict[str, list[dict]] = {family: [] for family in FAMILY_LABELS}
    for name in list_models():
        grouped[model_info(name).family].append(registry_entry(name, available))
    grouped["custom"] += [network_entry(network) for network in networks]
    return [(FAMILY_LABELS[family], entries) for family, entries in grouped.items() if entries]
