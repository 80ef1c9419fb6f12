"""The model registry: every architecture Lux can build, keyed by name (building is classifier.factory)."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

FAMILIES = ("vgg", "resnet", "vit", "custom")


@dataclass(frozen=True)
class ModelInfo:
    """What the registry knows about one architecture before building it."""

    name: str
    family: str
    default_image_size: int
    small: bool  # True: a variant made for inputs of 64 px and below
    min_image_size: int
    patch_size: int | None
    imagenet_weights: str | None  # torchvision weights enum name, e.g. "ResNet18_Weights.IMAGENET1K_V1"
    weights_filename: str | None  # the file torchvision caches those weights as
    description: str
    head: str  # state-dict prefix of the classification head, replaced when fine-tuning

    def to_dict(self) -> dict:
        """Return the info as plain JSON-ready values."""
        return {field: getattr(self, field) for field in self.__dataclass_fields__}


class UnknownModel(KeyError):
    """Raised for a name the registry does not hold; the message suggests close names."""

    def __init__(self, name: str, known: list[str]):
        close = difflib.get_close_matches(str(name), known, n=4, cutoff=0.5)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        self.message = f"unknown architecture {name!r}.{hint} Known: {', '.join(known)}."
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


Builder = Callable[..., nn.Module]
SizeCheck = Callable[[int, "list[dict] | None"], None]  # (image_size, spec) -> None or ValueError

_INFOS: dict[str, ModelInfo] = {}
_BUILDERS: dict[str, Builder] = {}
_SIZE_CHECKS: dict[str, SizeCheck] = {}


def _weights_filename(weights: str | None) -> str | None:
    """Return the file name torchvision caches `weights` as (read from the enum, no download)."""
    if weights is None:
        return None
    from torchvision.models import get_weight

    return get_weight(weights).url.rsplit("/", 1)[-1]


def register_model(
    name: str,
    *,
    family: str,
    default_image_size: int,
    small: bool = False,
    min_image_size: int = 1,
    patch_size: int | None = None,
    imagenet_weights: str | None = None,
    description: str = "",
    head: str = "fc",
    size_check: SizeCheck | None = None,
) -> Callable[[Builder], Builder]:
    """Register `builder(num_classes, image_size, **kw) -> nn.Module` under `name`."""
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {FAMILIES}, got {family!r}")

    def decorator(builder: Builder) -> Builder:
        if name in _INFOS:
            raise ValueError(f"architecture {name!r} is already registered")
        _INFOS[name] = ModelInfo(
            name=name,
            family=family,
            default_image_size=default_image_size,
            small=small,
            min_image_size=min_image_size,
            patch_size=patch_size,
            imagenet_weights=imagenet_weights,
            weights_filename=_weights_filename(imagenet_weights),
            description=description,
            head=head,
        )
        _BUILDERS[name] = builder
        if size_check is not None:
            _SIZE_CHECKS[name] = size_check
        return builder

    return decorator


def list_models(family: str | None = None) -> list[str]:
    """Return the registered names, optionally only those of one family."""
    if family is not None and family not in FAMILIES:
        raise ValueError(f"family must be one of {FAMILIES}, got {family!r}")
    names = [name for name, info in _INFOS.items() if family is None or info.family == family]
    return sorted(names, key=lambda name: FAMILIES.index(_INFOS[name].family))  # stable: registration order


def model_info(name: str) -> ModelInfo:
    """Return the registry entry for `name`."""
    if name not in _INFOS:
        raise UnknownModel(name, list(_INFOS))
    return _INFOS[name]


def model_builder(name: str) -> Builder:
    """Return the builder registered under `name`."""
    model_info(name)  # raises UnknownModel with suggestions
    return _BUILDERS[name]


def check_image_size(name: str, image_size: int, spec: list[dict] | None = None) -> None:
    """Raise ValueError, in words a person can act on, if `name` cannot take `image_size` px inputs."""
    info = model_info(name)
    if isinstance(image_size, bool) or not isinstance(image_size, int):
        raise ValueError(f"image size must be a whole number of pixels, got {image_size!r}")
    if image_size < info.min_image_size:
        alternative = _small_alternative(info)
        hint = f"; for small images try {alternative}" if alternative else ""
        raise ValueError(f"{name} needs images of at least {info.min_image_size} px, got {image_size} px{hint}")
    if spec is not None and info.family != "custom":
        raise ValueError(f"a layer spec only applies to the 'custom' architecture, not {name}")
    if name in _SIZE_CHECKS:
        _SIZE_CHECKS[name](image_size, spec)


def _small_alternative(info: ModelInfo) -> str | None:
    """Return the name of a small-image variant of the same family, if any."""
    if info.small:
        return None
    smalls = [n for n, i in _INFOS.items() if i.family == info.family and i.small]
    return smalls[0] if smalls else None
