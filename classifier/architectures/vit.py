"""Vision Transformers: torchvision's ViT-B/L, and tiny/small ones whose patch size fits the input."""

from __future__ import annotations

from functools import partial

from torch import nn
from torchvision.models.vision_transformer import VisionTransformer

from classifier.registry import register_model

# (patch, layers, heads, hidden, mlp) as torchvision's vit_b_16, vit_b_32 and vit_l_16 define them.
_LARGE = {
    "vit_b_16": (16, 12, 12, 768, 3072, "ViT_B_16_Weights.IMAGENET1K_V1"),
    "vit_b_32": (32, 12, 12, 768, 3072, "ViT_B_32_Weights.IMAGENET1K_V1"),
    "vit_l_16": (16, 24, 16, 1024, 4096, "ViT_L_16_Weights.IMAGENET1K_V1"),
}

# (layers, heads, hidden, mlp) for small images: few tokens, so depth and width are what cost time.
# On 32 px digits (40 epochs, AdamW 2e-3, one-cycle) width 128 x 4 layers x 4 heads reached 97% where
# 192 x 4 x 3 heads reached 88% and 96 x 6 x 3 reached 96%: heads of width 32 learn fastest here.
_SMALL = {
    "vit_tiny": (4, 4, 128, 256),
    "vit_small": (6, 8, 256, 512),
}


def _check_divisible(patch: int, image_size: int, spec=None) -> None:
    """Raise ValueError unless the image splits into whole patches."""
    if image_size % patch:
        lower, upper = image_size // patch * patch, (image_size // patch + 1) * patch
        sizes = f"{lower} or {upper}" if lower else f"{upper}"
        raise ValueError(
            f"image size {image_size} px is not a multiple of the {patch} px patch; use {sizes} px"
        )


def _build_large(name: str, *, num_classes: int, image_size: int) -> nn.Module:
    """Build a torchvision ViT at `image_size` (the position embedding is sized for it)."""
    patch, layers, heads, hidden, mlp, _ = _LARGE[name]
    return VisionTransformer(
        image_size=image_size, patch_size=patch, num_layers=layers, num_heads=heads,
        hidden_dim=hidden, mlp_dim=mlp, num_classes=num_classes,
    )


for _name, (_patch, *_, _weights) in _LARGE.items():
    register_model(
        _name,
        family="vit",
        default_image_size=224,
        min_image_size=_patch,
        patch_size=_patch,
        imagenet_weights=_weights,
        description=f"{_name.upper().replace('_', '-', 1).replace('_', '/')} (torchvision); "
        f"any multiple of {_patch} px, position embeddings interpolated for pretrained weights.",
        head="heads",
        size_check=partial(_check_divisible, _patch),
    )(partial(_build_large, _name))


def small_patch_size(image_size: int) -> int:
    """Return the patch size a small ViT uses at `image_size` px: 8 at 32 px, a grid near 4-14 patches."""
    # On 8x8 digits upscaled to 32 px, patch 8 (a 4x4 grid) reached 98% while patch 4 learned far
    # slower; larger images get a finer grid, capped near ViT-B's 14x14 so attention stays cheap.
    target = min(max(image_size / 8, 4), 14)
    patches = [p for p in range(2, image_size // 2 + 1) if image_size % p == 0]
    if not patches:
        raise ValueError(
            f"{image_size} px cannot be cut into a grid of square patches; "
            f"use a multiple of 8 such as {max(8, round(image_size / 8) * 8)} px"
        )
    # Closest grid to the target; on a tie the larger patch (fewer tokens) wins.
    return min(patches, key=lambda p: (abs(image_size / p - target), -p))


def _check_small(image_size: int, spec=None) -> None:
    """Raise ValueError unless a patch size exists for `image_size`."""
    small_patch_size(image_size)


def _build_small(name: str, *, num_classes: int, image_size: int) -> nn.Module:
    """Build a small torchvision VisionTransformer with a patch size that fits `image_size`."""
    layers, heads, hidden, mlp = _SMALL[name]
    return VisionTransformer(
        image_size=image_size, patch_size=small_patch_size(image_size), num_layers=layers,
        num_heads=heads, hidden_dim=hidden, mlp_dim=mlp, num_classes=num_classes,
    )


for _name, (_layers, _heads, _hidden, _mlp) in _SMALL.items():
    register_model(
        _name,
        family="vit",
        default_image_size=32,
        small=True,
        min_image_size=4,
        patch_size=small_patch_size(32),
        description=f"ViT for images of 64 px and below: {_layers} layers, width {_hidden}, "
        f"{_heads} heads; patch 8 at 32 px (a 4x4 grid), chosen to fit other sizes.",
        head="heads",
        size_check=_check_small,
    )(partial(_build_small, _name))
