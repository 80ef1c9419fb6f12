"""Build registered architectures: fresh, from pretrained weights, or from a saved Lux model file."""

from __future__ import annotations

import os

import torch
from torch import nn

from classifier.pretrained import load_pretrained
from classifier.registry import check_image_size, model_builder, model_info
from classifier.weights import ModelCard, load_weights_into, read_card, read_state_dict


def _build(name: str, *, num_classes: int, image_size: int | None, spec: list[dict] | None) -> nn.Module:
    """Validate the request and call the registered builder."""
    info = model_info(name)
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive whole number, got {num_classes!r}")
    image_size = info.default_image_size if image_size is None else image_size
    check_image_size(name, image_size, spec)
    extra = {"spec": spec} if info.family == "custom" else {}
    return model_builder(name)(num_classes=num_classes, image_size=image_size, **extra)


def create_model(
    name: str,
    *,
    num_classes: int,
    image_size: int | None = None,
    pretrained: str | os.PathLike | None = None,
    spec: list[dict] | None = None,
    class_names: list[str] | None = None,
) -> nn.Module:
    """Build `name` for `num_classes` classes; `pretrained` is None, "imagenet" or a weights file.

    With `class_names`, a pretrained head keeps the rows of the classes its source knew by the same name.
    """
    model = _build(name, num_classes=num_classes, image_size=image_size, spec=spec)
    pretrained = {True: "imagenet", False: None}.get(pretrained, pretrained)  # timm's boolean spelling
    if pretrained is not None:
        load_pretrained(model, name, pretrained, num_classes=num_classes, class_names=class_names)
    return model


def parameter_count(
    name: str, *, num_classes: int = 10, image_size: int | None = None, spec: list[dict] | None = None
) -> int:
    """Return the number of parameters `name` would have, without allocating or initialising it."""
    # The meta device records shapes only, so counting ViT-L costs milliseconds, not gigabytes.
    with torch.device("meta"):
        model = _build(name, num_classes=num_classes, image_size=image_size, spec=spec)
    return sum(p.numel() for p in model.parameters())


def load_model(path: str | os.PathLike, *, device: str | torch.device = "cpu") -> tuple[nn.Module, ModelCard]:
    """Rebuild a saved model from its card, load its weights, and return it in eval mode."""
    card = read_card(path)
    model = create_model(card.arch, num_classes=card.num_classes, image_size=card.image_size, spec=card.spec)
    load_weights_into(model, read_state_dict(path), strict_head=True)
    return model.to(device).eval(), card
