"""Feature maps of each convolution stage (conv1 ... conv5) and the first layer's filters as images.

Stages, as in "what can convolution learn": for a ResNet the stem (after its ReLU) and layer1..layer4;
for a VGG the blocks that its max-pools separate (each block's last ReLU, before the pool); for a plain
sequential network such as one built from a layer spec, each conv group (a conv and the batch-norm,
activation and dropout layers after it).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor, nn

from classifier.explain.gradcam import as_batch, model_device

# Layers that belong to the conv group before them: they keep the (C, h, w) map as it is shaped.
_GROUP_MEMBERS = (nn.BatchNorm2d, nn.ReLU, nn.LeakyReLU, nn.GELU, nn.SiLU, nn.Dropout, nn.Dropout2d, nn.Identity)


def _resnet_stages(model: nn.Module) -> list[tuple[str, str]] | None:
    """Return the stem and the four residual stages of a torchvision-style ResNet."""
    if not all(hasattr(model, name) for name in ("conv1", "relu", "layer1", "layer2", "layer3", "layer4")):
        return None
    return [("conv1", "relu")] + [(f"conv{i + 2}", f"layer{i + 1}") for i in range(4)]


def _vgg_stages(model: nn.Module) -> list[tuple[str, str]] | None:
    """Return the last layer of each block between max-pools in `model.features`."""
    features = getattr(model, "features", None)
    if not isinstance(features, nn.Sequential) or not any(isinstance(m, nn.MaxPool2d) for m in features):
        return None
    ends, last = [], None
    for index, module in enumerate(features):
        if isinstance(module, nn.MaxPool2d):
            if last is not None:
                ends.append(last)
            last = None
        else:
            last = index
    if last is not None:  # the small variants drop the final pool
        ends.append(last)
    return [(f"conv{i + 1}", f"features.{index}") for i, index in enumerate(ends)]


def _conv_group_stages(model: nn.Module) -> list[tuple[str, str]] | None:
    """Return the last layer of each conv group among a sequential model's top-level layers."""
    if not isinstance(model, nn.Sequential):
        return None
    ends, last = [], None
    for name, module in model.named_children():
        if isinstance(module, nn.Conv2d):
            if last is not None:
                ends.append(last)
            last = name
        elif last is not None and isinstance(module, _GROUP_MEMBERS):
            last = name
        elif last is not None:
            ends.append(last)
            last = None
    if last is not None:
        ends.append(last)
    return [(f"conv{i + 1}", name) for i, name in enumerate(ends)] or None


# Tried in order; the first that recognises the model names its stages.
STAGE_FINDERS: dict[str, Callable[[nn.Module], list[tuple[str, str]] | None]] = {
    "resnet": _resnet_stages,
    "vgg": _vgg_stages,
    "conv groups": _conv_group_stages,
}


def conv_stages(model: nn.Module) -> list[tuple[str, str]]:
    """Return [(stage name, dotted module name)] of the model's convolution stages, conv1 first."""
    for finder in STAGE_FINDERS.values():
        stages = finder(model)
        if stages:
            return stages
    raise ValueError(
        f"cannot tell the convolution stages of a {type(model).__name__}: feature maps are shown for "
        "ResNet, VGG and layer-spec networks (a ViT has attention maps instead)"
    )


def feature_maps(model: nn.Module, image: Tensor) -> list[tuple[str, Tensor]]:
    """Return [(stage name, (C, h, w) float32 CPU activations)] for one normalised image."""
    stages = conv_stages(model)
    captured: dict[str, Tensor] = {}

    def keep(stage: str):
        def hook(module, inputs, output):
            # A copy: an in-place layer after the stage must not change what we keep.
            captured[stage] = output.detach()[0].float().cpu().clone()  # (C, h, w)

        return hook

    handles = [model.get_submodule(path).register_forward_hook(keep(stage)) for stage, path in stages]
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            model(as_batch(image).to(model_device(model)))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return [(stage, captured[stage]) for stage, _ in stages if stage in captured]


def first_layer_filters(model: nn.Module) -> Tensor:
    """Return the first conv layer's filters as (N, C, k, k) float32 CPU images, each stretched to [0, 1]."""
    conv = next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)
    if conv is None:
        raise ValueError(f"a {type(model).__name__} has no convolution layer, so it has no filters to show")
    weights = conv.weight.detach().float().cpu()  # (N, C, k, k)
    return _stretch_each(weights)


def _stretch_each(images: Tensor) -> Tensor:
    """Return (N, ...) images each min-max stretched to [0, 1]; a flat image becomes zeros."""
    flat = images.reshape(images.shape[0], -1)  # (N, D)
    low, high = flat.amin(dim=1, keepdim=True), flat.amax(dim=1, keepdim=True)
    span = high - low
    stretched = torch.where(span > 0, (flat - low) / span.clamp_min(1e-12), torch.zeros_like(flat))
    return stretched.clamp_(0, 1).reshape(images.shape)


def tile(images: Tensor, *, columns: int | None = None, pad: int = 1, pad_value: float = 1.0) -> Tensor:
    """Return (C, H, W): the (N, C, h, w) images laid out row by row with `pad` px between them."""
    count, channels, height, width = images.shape
    columns = columns or math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    grid = torch.full((channels, rows * (height + pad) - pad, columns * (width + pad) - pad), float(pad_value))
    for index in range(count):
        top, left = (index // columns) * (height + pad), (index % columns) * (width + pad)
        grid[:, top:top + height, left:left + width] = images[index]
    return grid


def channel_grid(activations: Tensor, *, count: int = 16, columns: int | None = None, pad: int = 1) -> Tensor:
    """Return the first `count` channels of a (C, h, w) stage as one (H, W) grey grid in [0, 1]."""
    channels = _stretch_each(activations[:count].float().cpu())  # (n, h, w), each channel on its own scale
    return tile(channels[:, None], columns=columns, pad=pad)[0]


def filter_grid(filters: Tensor, *, count: int = 64, columns: int | None = None, pad: int = 1) -> Tensor:
    """Return the first `count` (N, C, k, k) filters from first_layer_filters as one (C, H, W) grid."""
    return tile(filters[:count], columns=columns, pad=pad)
