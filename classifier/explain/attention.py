"""Attention rollout for Vision Transformers: where the class token gathers its evidence from.

Abnar & Zuidema (2020): average each block's attention over heads (optionally dropping the weakest
entries), add the identity for the residual path, renormalise rows, and multiply the blocks together;
the class token's row, over the patches, is the map. torchvision's EncoderBlock asks its attention for
no weights (need_weights=False), so a forward pre-hook on every nn.MultiheadAttention asks for them
per head, and a forward hook keeps them; both hooks are removed afterwards.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from classifier.explain.gradcam import as_batch, model_device

# How the heads of one block are merged into one (N, N) matrix: "mean" is the paper's choice.
HEAD_FUSIONS = {
    "mean": lambda attention: attention.mean(dim=0),  # (heads, N, N) -> (N, N)
    "max": lambda attention: attention.amax(dim=0),
    "min": lambda attention: attention.amin(dim=0),
}


def _vision_transformer(model: nn.Module):
    """Return the torchvision VisionTransformer inside `model`, or raise ValueError."""
    from torchvision.models.vision_transformer import VisionTransformer

    for module in model.modules():
        if isinstance(module, VisionTransformer):
            return module
    raise ValueError("attention rollout needs a Vision Transformer; for a CNN use grad_cam")


def attention_maps(model: nn.Module, image: Tensor) -> list[Tensor]:
    """Return each block's attention for one image: a list of (heads, N, N) float32 CPU tensors."""
    x = as_batch(image)  # (1, 3, H, W)
    blocks = [m for m in model.modules() if isinstance(m, nn.MultiheadAttention)]
    maps: list[Tensor] = []

    def ask_for_weights(module, args, kwargs):
        return args, {**kwargs, "need_weights": True, "average_attn_weights": False}

    def keep_weights(module, args, kwargs, output):
        maps.append(output[1].detach().float()[0].cpu())  # (heads, N, N)

    handles = []
    was_training = model.training
    model.eval()
    try:
        for block in blocks:
            handles.append(block.register_forward_pre_hook(ask_for_weights, with_kwargs=True))
            handles.append(block.register_forward_hook(keep_weights, with_kwargs=True))
        with torch.inference_mode():
            model(x.to(model_device(model)))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return maps


def rollout(maps: list[Tensor], *, discard_ratio: float = 0.0, head_fusion: str = "mean") -> Tensor:
    """Return the (N, N) rollout of per-block (heads, N, N) attention, each row summing to 1."""
    if head_fusion not in HEAD_FUSIONS:
        raise ValueError(f"head_fusion must be one of {', '.join(HEAD_FUSIONS)}, got {head_fusion!r}")
    if not 0 <= discard_ratio < 1:
        raise ValueError(f"discard_ratio must be in [0, 1), got {discard_ratio!r}")
    tokens = maps[0].shape[-1]
    eye = torch.eye(tokens)
    result = eye.clone()
    for attention in maps:
        fused = HEAD_FUSIONS[head_fusion](attention).clone()  # (N, N)
        if discard_ratio:
            flat = fused.view(-1)
            lowest = flat.topk(int(flat.numel() * discard_ratio), largest=False).indices
            lowest = lowest[lowest != 0]  # keep class-token-to-itself, which carries the residual stream
            flat[lowest] = 0
        step = (fused + eye) / 2  # the residual connection passes half the signal unchanged
        step = step / step.sum(dim=-1, keepdim=True)
        result = step @ result
    return result


def attention_rollout(
    model: nn.Module, image: Tensor, *, discard_ratio: float = 0.0, head_fusion: str = "mean"
) -> Tensor:
    """Return the class token's rollout attention over the patches: (H, W) float32 CPU in [0, 1]."""
    vit = _vision_transformer(model)
    x = as_batch(image)
    maps = attention_maps(model, x)
    if not maps:
        raise ValueError("the model ran no nn.MultiheadAttention, so there is no attention to roll out")
    grid = x.shape[-1] // vit.patch_size, x.shape[-2] // vit.patch_size
    joint = rollout(maps, discard_ratio=discard_ratio, head_fusion=head_fusion)  # (N, N)
    patches = joint[0, 1:]  # (N - 1,): class token to every patch, in row-major patch order
    if patches.numel() != grid[0] * grid[1]:
        raise ValueError(f"expected {grid[0] * grid[1]} patch tokens, the attention has {patches.numel()}")
    small = patches.reshape(1, 1, grid[1], grid[0])  # (1, 1, gh, gw)
    heatmap = F.interpolate(small, size=x.shape[-2:], mode="bilinear", align_corners=False)[0, 0]  # (H, W)
    return normalise_min_max(heatmap)


def normalise_min_max(heatmap: Tensor) -> Tensor:
    """Return the map stretched to [0, 1]; a flat map becomes all zeros."""
    low, high = heatmap.min(), heatmap.max()
    if not torch.isfinite(high - low) or high - low <= 0:
        return torch.zeros_like(heatmap)
    return ((heatmap - low) / (high - low)).clamp_(0, 1)
