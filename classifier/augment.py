"""Augmentations on whole batch tensors, vectorised, on any device, deterministic given a generator."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

_GRAY = (0.299, 0.587, 0.114)  # ITU-R 601 luma, as PIL and torchvision use


def _uniform(shape, low: float, high: float, generator: torch.Generator | None, device) -> Tensor:
    """Draw uniform numbers on the generator's device (CPU by default), then move them to `device`."""
    source = generator.device if generator is not None else "cpu"
    return (torch.rand(shape, generator=generator, device=source) * (high - low) + low).to(device)


def _integers(low: int, high: int, shape, generator: torch.Generator | None, device) -> Tensor:
    """Draw integers in [low, high) the same way as `_uniform`."""
    source = generator.device if generator is not None else "cpu"
    return torch.randint(low, high, shape, generator=generator, device=source).to(device)


def _reflect(index: Tensor, length: int) -> Tensor:
    """Map indices outside [0, length) back inside by mirroring at the edges (no edge repeat)."""
    index = index.abs()
    return torch.where(index > length - 1, 2 * (length - 1) - index, index)


def pad_crop_flip(images: Tensor, size: int, *, pad: int, crop: bool, flip: bool,
                  generator: torch.Generator | None, rotate: bool = False) -> Tensor:
    """Return random `size` crops of reflect-padded images, some mirrored, some turned, as one gather."""
    batch, _, side, _ = images.shape  # (B, 3, R, R) uint8
    device = images.device
    if not (crop or flip or rotate):
        return centre_crop(images, size)
    if crop:
        offsets = _integers(-pad, side - size + pad + 1, (batch, 2), generator, device)  # (B, 2)
    else:
        offsets = torch.full((batch, 2), int(round((side - size) / 2.0)), device=device)  # as centre_crop
    steps = torch.arange(size, device=device)
    rows = _reflect(offsets[:, :1] + steps, side)  # (B, size)
    cols = _reflect(offsets[:, 1:] + steps, side)  # (B, size)
    if flip:
        mirrored = _uniform((batch, 1), 0, 1, generator, device) < 0.5
        cols = torch.where(mirrored, cols.flip(1), cols)
    rows, cols = rows[:, :, None].expand(-1, -1, size), cols[:, None, :].expand(-1, size, -1)  # (B, size, size)
    if rotate:  # drawn after the others, so runs without rotation draw exactly what they always drew
        rows, cols = _quarter_turns(rows, cols, _integers(0, 4, (batch,), generator, device))
    picked = images[torch.arange(batch, device=device)[:, None, None], :, rows, cols]
    return picked.permute(0, 3, 1, 2)  # (B, size, size, 3) -> (B, 3, size, size), channels-last in memory


def _quarter_turns(rows: Tensor, cols: Tensor, turns: Tensor) -> Tensor:
    """Turn (B, S, S) source-index maps by `turns` (B,) quarter turns anticlockwise, each map its own."""
    # Output pixel (i, j) of a map turned once reads the unturned map at (j, S-1-i); twice, at (S-1-i, S-1-j).
    turned = [(rows, cols)]
    for _ in range(3):
        r, c = turned[-1]
        turned.append((r.transpose(1, 2).flip(1), c.transpose(1, 2).flip(1)))
    pick = turns.view(-1, 1, 1)
    out_rows = torch.zeros_like(rows)
    out_cols = torch.zeros_like(cols)
    for k, (r, c) in enumerate(turned):
        out_rows = torch.where(pick == k, r, out_rows)
        out_cols = torch.where(pick == k, c, out_cols)
    return out_rows, out_cols


def _warp(images: Tensor, theta: Tensor, size: int, padding: str = "zeros") -> Tensor:
    """Resample float images through per-image affine maps (output coords -> input coords)."""
    grid = F.affine_grid(theta, [images.shape[0], images.shape[1], size, size], align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode=padding, align_corners=False)


def resized_crop_flip(images: Tensor, size: int, *, scale: tuple[float, float], flip: bool,
                      generator: torch.Generator | None, rotate: bool = False) -> Tensor:
    """Return random-resized crops (area fraction in `scale`, aspect 3/4..4/3), some mirrored, some turned."""
    batch, device = images.shape[0], images.device  # (B, 3, R, R) float
    area = _uniform(batch, scale[0], scale[1], generator, device)
    log_ratio = _uniform(batch, math.log(3 / 4), math.log(4 / 3), generator, device)
    width = (area * log_ratio.exp()).sqrt().clamp(max=1)  # fraction of the side
    height = (area / log_ratio.exp()).sqrt().clamp(max=1)
    centre_x = (_uniform(batch, -1, 1, generator, device)) * (1 - width)  # normalised coords in [-1, 1]
    centre_y = (_uniform(batch, -1, 1, generator, device)) * (1 - height)
    sign = torch.ones(batch, device=device)
    if flip:
        sign = torch.where(_uniform(batch, 0, 1, generator, device) < 0.5, -sign, sign)
    theta = torch.zeros(batch, 2, 3, device=device)
    theta[:, 0, 0], theta[:, 0, 2] = width * sign, centre_x
    theta[:, 1, 1], theta[:, 1, 2] = height, centre_y
    if rotate:  # a quarter turn of the output square: output (x, y) reads the crop at R_k (x, y)
        angle = _integers(0, 4, (batch,), generator, device).float() * (math.pi / 2)
        cos, sin = angle.cos().round(), angle.sin().round()
        turn = torch.stack([torch.stack([cos, -sin], 1), torch.stack([sin, cos], 1)], 1)  # (B, 2, 2)
        theta[:, :, :2] = theta[:, :, :2] @ turn
    # Crops lie inside the image, but bilinear taps of an enlarged crop reach half a pixel past its edge.
    return _warp(images, theta, size, padding="border")  # (B, 3, size, size)


def centre_crop(images: Tensor, size: int) -> Tensor:
    """Return the centre `size` x `size` window (torchvision's CenterCrop rounding)."""
    side = images.shape[-1]
    top = int(round((side - size) / 2.0))
    return images[..., top:top + size, top:top + size]


def gray(images: Tensor) -> Tensor:
    """Return luma, (B, 1, H, W), of float RGB images."""
    red, green, blue = images.unbind(dim=1)
    return (red * _GRAY[0] + green * _GRAY[1] + blue * _GRAY[2]).unsqueeze(1)


def _blend(images: Tensor, degenerate: Tensor, factor: Tensor) -> Tensor:
    """Return degenerate + factor * (images - degenerate), clamped to [0, 1]."""
    return (degenerate + factor.view(-1, 1, 1, 1) * (images - degenerate)).clamp_(0, 1)


def color_jitter_(images: Tensor, strength: float, generator: torch.Generator | None) -> Tensor:
    """Scale brightness, contrast and saturation by random factors in [1 - strength, 1 + strength], in place."""
    batch, device = images.shape[0], images.device  # (B, 3, H, W) float in [0, 1]
    brightness, contrast, saturation = _uniform((3, batch, 1, 1, 1), 1 - strength, 1 + strength, generator, device)
    images.mul_(brightness).clamp_(0, 1)
    # In place, blending towards the degenerate image d: x <- d + f * (x - d).
    for degenerate, factor in ((lambda x: gray(x).mean(dim=(2, 3), keepdim=True), contrast), (gray, saturation)):
        target = degenerate(images)
        images.sub_(target).mul_(factor).add_(target).clamp_(0, 1)
    return images


# TrivialAugmentWide: each image gets one op at a random strength out of 31 bins.
_BINS = 31
_MAX_TRANSLATE = 1 / 7  # of the side: torchvision's 32 px at 224 px, kept proportional at other sizes


def _geometric(theta_fn):
    """Wrap a (B,) strength -> (B, 2, 2) linear map as an op that warps about the image centre."""
    def op(images: Tensor, strength: Tensor) -> Tensor:
        theta = torch.zeros(images.shape[0], 2, 3, device=images.device)
        theta[:, :, :2] = torch.eye(2, device=images.device)
        theta = theta_fn(theta, strength)
        return _warp(images, theta, images.shape[-1])
    return op


def _shear(axis: int):
    def fn(theta, s):
        theta[:, axis, 1 - axis] = s * 0.99
        return theta
    return _geometric(fn)


def _translate(axis: int):
    def fn(theta, s):
        theta[:, axis, 2] = 2 * _MAX_TRANSLATE * s
        return theta
    return _geometric(fn)


def _rotate_fn(theta, s):
    angle = torch.deg2rad(135 * s)
    theta[:, 0, 0], theta[:, 0, 1] = angle.cos(), -angle.sin()
    theta[:, 1, 0], theta[:, 1, 1] = angle.sin(), angle.cos()
    return theta


def _sharpen(images: Tensor, strength: Tensor) -> Tensor:
    kernel = torch.ones(3, 1, 3, 3, device=images.device, dtype=images.dtype)
    kernel[:, :, 1, 1] = 5
    blurred = F.conv2d(images, kernel / 13, groups=3)  # PIL's SMOOTH filter; the border stays as it was
    degenerate = images.clone()
    degenerate[..., 1:-1, 1:-1] = blurred
    return _blend(images, degenerate, 1 + 0.99 * strength)


def _posterize(images: Tensor, strength: Tensor) -> Tensor:
    bits = (8 - (strength.abs() * 6).round()).to(torch.uint8)  # 8 .. 2 bits kept
    mask = (255 - (2 ** (8 - bits.int()) - 1)).to(torch.uint8).view(-1, 1, 1, 1)
    return ((images * 255).round().to(torch.uint8) & mask).float() / 255


def _autocontrast(images: Tensor, strength: Tensor) -> Tensor:
    low = images.amin(dim=(2, 3), keepdim=True)
    high = images.amax(dim=(2, 3), keepdim=True)
    spread = high - low
    return torch.where(spread > 0, (images - low) / spread.clamp(min=1e-6), images)


def _equalize(images: Tensor, strength: Tensor) -> Tensor:
    """Equalize each channel's histogram as PIL does, for all images at once."""
    batch, channels, height, width = images.shape
    values = (images * 255).round().long().flatten(2)  # (B, 3, HW)
    hist = torch.zeros(batch, channels, 256, device=images.device).scatter_add_(
        2, values, torch.ones_like(values, dtype=torch.float))
    last = (hist > 0).float() * torch.arange(256, device=images.device)  # index of the last used level
    last_count = hist.gather(2, last.argmax(dim=2, keepdim=True))
    step = ((height * width - last_count) / 255).floor()  # (B, 3, 1)
    lut = ((hist.cumsum(dim=2) + (step / 2).floor()) / step.clamp(min=1)).floor()
    lut = F.pad(lut, (1, 0))[..., :-1].clamp(0, 255)
    equalized = lut.gather(2, values) / 255
    return torch.where(step > 0, equalized, values.float() / 255).view_as(images)


_OPS = {
    "identity": lambda x, s: x,
    "shear_x": _shear(0),
    "shear_y": _shear(1),
    "translate_x": _translate(0),
    "translate_y": _translate(1),
    "rotate": _geometric(_rotate_fn),
    "brightness": lambda x, s: _blend(x, torch.zeros_like(x[:, :1]), 1 + 0.99 * s),
    "color": lambda x, s: _blend(x, gray(x), 1 + 0.99 * s),
    "contrast": lambda x, s: _blend(x, gray(x).mean(dim=(2, 3), keepdim=True), 1 + 0.99 * s),
    "sharpness": _sharpen,
    "posterize": _posterize,
    "solarize": lambda x, s: torch.where(x >= 1 - s.abs().view(-1, 1, 1, 1), 1 - x, x),
    "autocontrast": _autocontrast,
    "equalize": _equalize,
}


def trivial_augment(images: Tensor, generator: torch.Generator | None) -> Tensor:
    """Apply one TrivialAugmentWide op per image at a random strength; loops over ops, not images."""
    batch, device = images.shape[0], images.device  # (B, 3, H, W) float in [0, 1]
    chosen = _integers(0, len(_OPS), (batch,), generator, device)
    level = _integers(0, _BINS, (batch,), generator, device).float() / (_BINS - 1)
    sign = torch.where(_uniform(batch, 0, 1, generator, device) < 0.5, -1.0, 1.0)
    strength = level * sign  # (B,) in [-1, 1]; ops without a direction use its magnitude
    out = images.clone()
    for number, op in enumerate(_OPS.values()):
        picked = (chosen == number).nonzero().squeeze(1)
        if number and picked.numel():
            out[picked] = op(images[picked], strength[picked])
    return out
