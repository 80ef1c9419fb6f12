"""ImageNet and user-supplied pretrained weights, read from disk only (classifier.pretrained_files downloads)."""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from classifier.registry import list_models, model_info
from classifier.transfer import carry_head
from classifier.weights import WeightsError, load_weights_into, read_card, read_state_dict

_POSITIONS = "encoder.pos_embedding"


class PretrainedWeightsMissing(FileNotFoundError):
    """The ImageNet weights file for an architecture is not in the local torch cache."""


def weights_cache_dir() -> Path:
    """Return the folder torchvision caches weights in (read each call: TORCH_HOME may change)."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def imagenet_weights_path(name: str) -> Path | None:
    """Return where torchvision caches `name`'s ImageNet weights, or None if it has none."""
    filename = model_info(name).weights_filename
    return None if filename is None else weights_cache_dir() / filename


def available_imagenet_weights() -> dict[str, Path]:
    """Return the architectures whose ImageNet weights file is present in the local cache."""
    paths = {name: imagenet_weights_path(name) for name in list_models()}
    return {name: path for name, path in paths.items() if path is not None and path.is_file()}


def imagenet_class_names() -> list[str]:
    """Return the 1,000 ImageNet class names that torchvision ships (no download)."""
    from torchvision.models import ResNet18_Weights

    return list(ResNet18_Weights.IMAGENET1K_V1.meta["categories"])


def _imagenet_file(name: str) -> Path:
    """Return the cached ImageNet weights file for `name`, or explain which file to put where."""
    path = imagenet_weights_path(name)
    if path is None:
        with_weights = sorted(n for n in list_models() if model_info(n).imagenet_weights)
        raise PretrainedWeightsMissing(
            f"{name} has no ImageNet weights; architectures that do: {', '.join(with_weights)}")
    if not path.is_file():
        raise PretrainedWeightsMissing(
            f"ImageNet weights for {name} are not on this machine (building a model never downloads): "
            f"fetch them on Lux's Pretrained weights page or with `manage.py weights fetch {name}`, or copy "
            f"{path.name} (torchvision's {model_info(name).imagenet_weights}) into {path.parent}.")
    return path


def _fit_positions(model: nn.Module, state_dict: dict) -> dict:
    """Interpolate a ViT's position embeddings when the file was trained at another image size."""
    own = model.state_dict().get(_POSITIONS)
    theirs = state_dict.get(_POSITIONS)
    if own is None or theirs is None or own.shape == theirs.shape:
        return state_dict
    from torchvision.models.vision_transformer import interpolate_embeddings

    return dict(interpolate_embeddings(model.image_size, model.patch_size, dict(state_dict)))


def source_class_names(source: str | os.PathLike) -> list[str] | None:
    """Return the classes a weights source was trained on: ImageNet's, a Lux file's card, or None (unknown)."""
    if str(source) == "imagenet":
        return imagenet_class_names()
    try:
        return list(read_card(source).class_names)
    except (WeightsError, OSError):
        return None


def load_pretrained(model: nn.Module, name: str, source: str | os.PathLike = "imagenet", *,
                    num_classes: int, class_names: list[str] | None = None) -> nn.Module:
    """Load ImageNet (local cache) or file weights into `model`; the head keeps the classes both know.

    With `class_names` (the new model's classes) and a source that names its own classes, the head rows
    of classes with the same name are copied and only new classes start fresh; otherwise the head is
    loaded only when it fits, and stays fresh when it does not.
    """
    path = _imagenet_file(name) if str(source) == "imagenet" else Path(source)
    if not path.is_file():
        raise PretrainedWeightsMissing(f"no weights file at {path}")
    state_dict = _fit_positions(model, read_state_dict(path))
    head = model_info(name).head
    known = source_class_names(source) if class_names is not None else None
    if known:
        state_dict = carry_head(state_dict, model.state_dict(), head=head, old_names=known,
                                new_names=list(class_names))
    load_weights_into(model, state_dict, strict_head=False, head=head)
    return model
