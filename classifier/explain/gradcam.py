"""Grad-CAM: which parts of the image pushed the model towards a class (VGG, ResNet, custom CNNs).

The layer rule, when no layer is given: the last leaf module, in execution order, whose output is a
(B, C, h, w) map of at least 4x4 and that is not a pooling layer; if no layer's map is that large, the last
one with the largest map. For a ResNet at 224 px that is the final ReLU of the last block (after the
residual sum, 7x7); for a VGG the last ReLU of the conv features (before the final max-pool, as in the
Grad-CAM paper); for a network built from a layer spec, the last conv group before the global pool or
flatten. On small inputs the last maps shrink to 2x2, which can only say "this quarter": the rule then takes
the last layer whose map still has 4x4 cells (a small VGG at 32 px: the 4x4 stage, not the 2x2 one).
`cam_layers` lists every candidate with its map size, so a person can pick another. A module called several
times (ResNet blocks reuse one ReLU) counts by its last call, for an automatic and for an explicit layer alike.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

# Layers that only summarise a map: their output is no more spatial evidence than their input.
_POOLS = (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d, nn.LPPool2d)
# The coarsest map the automatic rule takes when a finer one exists: 4x4 cells still say where, 2x2 barely.
MIN_SIDE = 4


@dataclass(frozen=True)
class CamLayer:
    """A layer Grad-CAM can explain through: its dotted name, module type and output map size."""

    name: str
    kind: str
    height: int
    width: int


@dataclass(frozen=True)
class GradCam:
    """A Grad-CAM heatmap and what it explains."""

    heatmap: Tensor  # (H, W) float32 on the CPU, in [0, 1], at the input resolution
    class_index: int
    score: float  # the class logit the gradients were taken of
    layer: str  # dotted module name, as in model.named_modules()


def as_batch(image: Tensor) -> Tensor:
    """Return a (1, C, H, W) batch from a (C, H, W) image or a one-image batch."""
    if image.ndim == 3:
        image = image[None]
    if image.ndim != 4 or image.shape[0] != 1:
        raise ValueError(f"expected one image, (C, H, W) or (1, C, H, W); got {tuple(image.shape)}")
    return image


def model_device(model: nn.Module) -> torch.device:
    """Return the device of the model's first parameter (the CPU for a parameter-free module)."""
    parameter = next(model.parameters(), None)
    return parameter.device if parameter is not None else torch.device("cpu")


def _is_vit(model: nn.Module) -> bool:
    from torchvision.models.vision_transformer import VisionTransformer

    return any(isinstance(module, VisionTransformer) for module in model.modules())


def _resolve(model: nn.Module, layer: str | nn.Module) -> tuple[str, nn.Module]:
    """Return (name, module) for a layer given by dotted name or as the module itself."""
    names = {module: name for name, module in model.named_modules()}
    if isinstance(layer, nn.Module):
        if layer not in names:
            raise ValueError("the layer given is not part of this model")
        return names[layer], layer
    try:
        return layer, model.get_submodule(layer)
    except AttributeError:
        convs = [name for name, module in model.named_modules() if isinstance(module, nn.Conv2d)]
        raise ValueError(f"the model has no layer {layer!r}; its conv layers are: {', '.join(convs)}")


def _is_spatial(output: object) -> bool:
    return isinstance(output, Tensor) and output.ndim == 4 and output.shape[-1] * output.shape[-2] > 1


def _capture(model: nn.Module, layer: str | nn.Module | None) -> tuple[OrderedDict, list]:
    """Register forward hooks keeping spatial outputs, by name in order of last call; return (captured, handles).

    With `layer` given only that layer is hooked; otherwise every leaf that is not a pooling layer.
    """
    captured: OrderedDict = OrderedDict()

    def keep(name: str):
        def hook(module, inputs, output):
            if _is_spatial(output):
                captured[name] = output  # a later call overwrites an earlier one and moves it to the end
                captured.move_to_end(name)

        return hook

    if layer is not None:
        name, module = _resolve(model, layer)
        return captured, [module.register_forward_hook(keep(name))]
    leaves = [(n, m) for n, m in model.named_modules() if not list(m.children()) and not isinstance(m, _POOLS)]
    return captured, [module.register_forward_hook(keep(name)) for name, module in leaves]


def choose_layer(layers: list[CamLayer]) -> CamLayer:
    """Return the layer the automatic rule explains through (see the module docstring)."""
    if not layers:
        raise ValueError("no layer outputs a spatial (B, C, h, w) map larger than 1x1; Grad-CAM needs one")
    fine = [layer for layer in layers if min(layer.height, layer.width) >= MIN_SIDE]
    if fine:
        return fine[-1]
    largest = max(layer.height * layer.width for layer in layers)
    return [layer for layer in layers if layer.height * layer.width == largest][-1]


def cam_layers(model: nn.Module, image: Tensor) -> list[CamLayer]:
    """Return every layer Grad-CAM can use for this model and input size, in order of execution."""
    if _is_vit(model):
        return []
    x = as_batch(image).to(model_device(model))  # (1, 3, H, W)
    was_training = model.training
    model.eval()
    captured, handles = _capture(model, None)
    try:
        with torch.no_grad():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return _described(model, captured)


def _described(model: nn.Module, captured: OrderedDict) -> list[CamLayer]:
    return [CamLayer(name=name, kind=type(model.get_submodule(name)).__name__, height=int(output.shape[-2]),
                     width=int(output.shape[-1])) for name, output in captured.items()]


def grad_cam(
    model: nn.Module, image: Tensor, *, class_index: int | None = None, layer: str | nn.Module | None = None
) -> GradCam:
    """Return the Grad-CAM heatmap of `class_index` (default: the top class) for one normalised image."""
    if layer is None and _is_vit(model):
        raise ValueError("Grad-CAM needs a convolutional network; for a ViT use attention_rollout")
    x = as_batch(image)  # (1, 3, H, W) float
    was_training = model.training
    model.eval()
    captured, handles = _capture(model, layer)
    try:
        # Explanations may be asked for from inside inference_mode; the clone is an ordinary tensor.
        with torch.inference_mode(False), torch.enable_grad():
            x = x.clone().to(model_device(model)).requires_grad_(True)
            logits = model(x)  # (1, num_classes)
            if not captured:
                where = f"layer {_resolve(model, layer)[0]!r} does not" if layer is not None else "no layer does"
                raise ValueError(f"{where} output a spatial (B, C, h, w) map larger than 1x1; Grad-CAM needs one")
            name = choose_layer(_described(model, captured)).name if layer is None else next(iter(captured))
            chosen = int(logits[0].argmax()) if class_index is None else int(class_index)
            if not 0 <= chosen < logits.shape[1]:
                raise ValueError(f"class_index must be in 0..{logits.shape[1] - 1}, got {class_index}")
            activations = captured[name]  # (1, C, h, w)
            # autograd.grad returns the gradient without accumulating into any parameter's .grad.
            (gradients,) = torch.autograd.grad(logits[0, chosen], activations)  # (1, C, h, w)
        weights = gradients.mean(dim=(2, 3), keepdim=True)  # (1, C, 1, 1): channel importance
        cam = F.relu((weights * activations).sum(dim=1, keepdim=True)).detach().float()  # (1, 1, h, w)
        cam = F.interpolate(cam, size=x.shape[-2:], mode="bilinear", align_corners=False)[0, 0]  # (H, W)
        return GradCam(heatmap=normalise_max(cam).cpu(), class_index=chosen,
                       score=float(logits[0, chosen].detach()), layer=name)
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)


def normalise_max(heatmap: Tensor) -> Tensor:
    """Return a non-negative map divided by its maximum (all zeros stay zeros), clamped to [0, 1]."""
    top = heatmap.max()
    if not torch.isfinite(top) or top <= 0:
        return torch.zeros_like(heatmap)
    return (heatmap / top).clamp_(0, 1)
