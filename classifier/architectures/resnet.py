"""ResNet: torchvision's builders, and small-image variants with a 3x3 stem and no max-pool."""

from __future__ import annotations

from functools import partial

import torchvision
from torch import nn

from classifier.registry import register_model

_WEIGHTS = {
    "resnet18": "ResNet18_Weights.IMAGENET1K_V1",
    "resnet34": "ResNet34_Weights.IMAGENET1K_V1",
    "resnet50": "ResNet50_Weights.IMAGENET1K_V2",
    "resnet101": "ResNet101_Weights.IMAGENET1K_V2",
    "resnet152": "ResNet152_Weights.IMAGENET1K_V2",
}


def _resnet(builder_name: str, *, num_classes: int, image_size: int) -> nn.Module:
    """Build a torchvision ResNet with random weights (never downloads)."""
    return getattr(torchvision.models, builder_name)(weights=None, num_classes=num_classes)


for _name, _weights in _WEIGHTS.items():
    register_model(
        _name,
        family="resnet",
        default_image_size=224,
        min_image_size=16,
        imagenet_weights=_weights,
        description=f"ResNet-{_name[6:]} (torchvision).",
        head="fc",
    )(partial(_resnet, _name))


def _small_resnet(builder_name: str, *, num_classes: int, image_size: int) -> nn.Module:
    """Build a ResNet whose stem keeps full resolution, as is usual for 32 px inputs."""
    model = _resnet(builder_name, num_classes=num_classes, image_size=image_size)
    # The ImageNet stem (7x7 stride 2, then a max-pool) would shrink a 32 px image to 8 px before the
    # first block; a 3x3 stride-1 stem leaves the four stages 32, 16, 8 and 4 px maps to work on.
    model.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
    nn.init.kaiming_normal_(model.conv1.weight, mode="fan_out", nonlinearity="relu")
    model.maxpool = nn.Identity()
    return model


for _name in ("resnet18", "resnet34"):
    register_model(
        f"{_name}_small",
        family="resnet",
        default_image_size=32,
        small=True,
        min_image_size=8,
        description=f"ResNet-{_name[6:]} for images of 64 px and below: 3x3 stride-1 stem, no max-pool.",
        head="fc",
    )(partial(_small_resnet, _name))
