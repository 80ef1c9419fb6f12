"""VGG: torchvision's builders, and small-image variants with a global-pool head."""

from __future__ import annotations

from functools import partial

import torchvision
from torch import nn
from torchvision.models.vgg import cfgs, make_layers

from classifier.registry import register_model

# Five 2x2 max-pools halve the map five times: 32 px is the smallest input that survives them.
VGG_MIN_SIZE = 32


def _vgg(builder_name: str, *, num_classes: int, image_size: int) -> nn.Module:
    """Build a torchvision VGG with random weights (never downloads)."""
    return getattr(torchvision.models, builder_name)(weights=None, num_classes=num_classes)


for _depth in (11, 13, 16, 19):
    for _bn in ("", "_bn"):
        _name = f"vgg{_depth}{_bn}"
        register_model(
            _name,
            family="vgg",
            default_image_size=224,
            min_image_size=VGG_MIN_SIZE,
            imagenet_weights=f"VGG{_depth}{_bn.upper()}_Weights.IMAGENET1K_V1",
            description=f"VGG-{_depth}{' with batch-norm' if _bn else ''} (torchvision), 4096-wide head.",
            head="classifier.6",
        )(partial(_vgg, _name))


class SmallVGG(nn.Module):
    """VGG features without the last max-pool, then global average pool and one linear layer."""

    def __init__(self, features: nn.Sequential, num_classes: int, dropout: float = 0.2):
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(512, num_classes))
        nn.init.normal_(self.classifier[2].weight, 0, 0.01)
        nn.init.zeros_(self.classifier[2].bias)

    def forward(self, x):
        return self.classifier(self.avgpool(self.features(x)))  # (B, num_classes)


def _small_vgg(config: str, *, num_classes: int, image_size: int) -> nn.Module:
    """Build a VGG for small images whose feature keys still match torchvision's ImageNet weights."""
    # torchvision's own layer list, so `features.*` keys and shapes are those of vgg*_bn's ImageNet file.
    features = make_layers(cfgs[config], batch_norm=True)
    for module in features.modules():  # the initialisation torchvision's VGG applies
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
    # Dropping the final pool keeps every conv and every state-dict key (the pool has none), halves the
    # minimum input size, and the global pool then averages a 2x2 map at 32 px instead of a 1x1 one.
    return SmallVGG(features[:-1], num_classes)


for _name, _depth, _config in (("vgg11_bn_small", 11, "A"), ("vgg16_bn_small", 16, "D")):
    register_model(
        _name,
        family="vgg",
        default_image_size=32,
        small=True,
        min_image_size=VGG_MIN_SIZE // 2,
        imagenet_weights=f"VGG{_depth}_BN_Weights.IMAGENET1K_V1",
        description=f"VGG-{_depth} with batch-norm for images of 64 px and below: global-average-pool head.",
        head="classifier",
    )(partial(_small_vgg, _config))
