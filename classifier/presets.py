"""Preprocessing presets: keyword-only callable classes, saved with the model as plain dicts."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps
from torch import Tensor

from classifier import augment

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
SMALL_IMAGE_MAX = 64  # at or below this size, train with pad-and-crop and cache at the training size
MODES = ("auto", "small", "large")


def default_resize_size(size: int) -> int:
    """Return the cache/resize resolution for `size`: itself when small, else 8/7 of it (256 for 224)."""
    return size if size <= SMALL_IMAGE_MAX else int(round(size * 8 / 7))


def _to_rgb(image: Image.Image) -> Image.Image:
    """Convert any PIL mode to RGB; 16-bit and float gray are rescaled, transparency lies on white."""
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        values = np.asarray(image, dtype=np.float64)
        if image.mode == "F" and values.max(initial=0) <= 1.0:
            values = values * 255
        elif image.mode != "F" and values.max(initial=0) > 255:
            values = values / 257  # 16-bit levels; plain convert("L") would clip them all to white
        image = Image.fromarray(np.clip(values, 0, 255).round().astype(np.uint8), "L")
    transparent = image.mode == "P" and "transparency" in image.info
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or transparent:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return image.convert("RGB")


def decode_for_cache(image: Image.Image, cache_size: int) -> np.ndarray:
    """Return (cache_size, cache_size, 3) uint8: upright, RGB, shorter side resized, centre-cropped."""
    # JPEGs decode straight at 1/2, 1/4 or 1/8 scale when that still covers the target: several times faster.
    image.draft("RGB", (cache_size, cache_size))
    image = _to_rgb(ImageOps.exif_transpose(image))
    width, height = image.size
    side = min(width, height)
    left, top = (width - side) / 2, (height - side) / 2
    # Cropping through `box` resamples only the centre square: resize-shorter-side + centre-crop in one pass.
    resized = image.resize((cache_size, cache_size), Image.Resampling.BILINEAR,
                           box=(left, top, left + side, top + side), reducing_gap=3.0)
    return np.array(resized, dtype=np.uint8)  # writable, so torch.from_numpy may share it


def _check_images(images: Tensor) -> None:
    if images.ndim != 4 or images.shape[1] != 3 or images.shape[2] != images.shape[3]:
        raise ValueError(f"expected a (B, 3, S, S) batch, got {tuple(images.shape)}")


class _Preset:
    """Shared size, normalisation and serialisation for the presets."""

    _saved: tuple[str, ...] = ()

    def __init__(self, *, size: int, resize_size: int | None, mean, std):
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"size must be a positive whole number of pixels, got {size!r}")
        if resize_size is not None and resize_size < size:
            raise ValueError(f"resize_size ({resize_size}) must be at least size ({size})")
        if len(mean) != 3 or len(std) != 3 or min(std) <= 0:
            raise ValueError("mean and std need three values each, and std must be positive")
        self.size, self.mean, self.std = size, tuple(float(m) for m in mean), tuple(float(s) for s in std)
        self._resize_size = resize_size

    def _normalize(self, images: Tensor, *, top: float) -> Tensor:
        """Map images with values in [0, top] to float32 (x / top - mean) / std in one pass."""
        mean = torch.tensor(self.mean, device=images.device).view(1, 3, 1, 1)
        std = torch.tensor(self.std, device=images.device).view(1, 3, 1, 1)
        return torch.addcmul(-mean / std, images.float(), 1 / (top * std))

    @staticmethod
    def _resized(images: Tensor, side: int) -> Tensor:
        """Return (B, 3, side, side) images, resampling only when the cache was made at another size."""
        if images.shape[-1] == side:
            return images
        return F.interpolate(images.float(), size=(side, side), mode="bilinear", antialias=True,
                             align_corners=False).round_().clamp_(0, 255).to(torch.uint8)

    def to_dict(self) -> dict:
        """Return the preset's type and arguments as JSON-ready values."""
        values = {name: getattr(self, name) for name in self._saved}
        plain = {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}
        return {"type": type(self).__name__, **plain}

    def __repr__(self) -> str:
        arguments = ", ".join(f"{k}={v!r}" for k, v in self.to_dict().items() if k != "type")
        return f"{type(self).__name__}({arguments})"

    def __eq__(self, other) -> bool:
        return isinstance(other, _Preset) and self.to_dict() == other.to_dict()


class EvalPreset(_Preset):
    """Resize the shorter side to `resize_size`, centre-crop `size`, normalise."""

    _saved = ("size", "resize_size", "mean", "std")

    def __init__(self, *, size: int, resize_size: int | None = None, mean=IMAGENET_MEAN, std=IMAGENET_STD):
        super().__init__(size=size, resize_size=resize_size, mean=mean, std=std)

    @property
    def resize_size(self) -> int:
        return self._resize_size or default_resize_size(self.size)

    def __call__(self, image: Image.Image) -> Tensor:
        """Return one PIL image as a (3, size, size) normalised float tensor."""
        pixels = torch.from_numpy(decode_for_cache(image, self.resize_size)).permute(2, 0, 1)  # (3, R, R)
        return self.batch(pixels[None])[0]

    def batch(self, images: Tensor) -> Tensor:
        """Return (B, 3, size, size) normalised floats from (B, 3, R, R) uint8 images, on their device."""
        _check_images(images)
        images = augment.centre_crop(self._resized(images, self.resize_size), self.size)
        return self._normalize(images, top=255)


class TrainPreset(_Preset):
    """Random crop (pad-and-crop when small, random-resized-crop when large), mirror, quarter turns, colour,
    TrivialAugment; mirroring and turning only where the data allows it (`flip`, `rotate`), so off by default."""

    _saved = ("size", "resize_size", "mode", "flip", "rotate", "crop", "trivial_augment", "color_jitter",
              "crop_scale", "mean", "std")

    def __init__(self, *, size: int, resize_size: int | None = None, mode: str = "auto", flip: bool = False,
                 rotate: bool = False, crop: bool = True, trivial_augment: bool = False, color_jitter: float = 0.0,
                 crop_scale: tuple[float, float] = (0.25, 1.0), mean=IMAGENET_MEAN, std=IMAGENET_STD):
        super().__init__(size=size, resize_size=resize_size, mean=mean, std=std)
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        if not 0 <= color_jitter < 1:
            raise ValueError(f"color_jitter must be in [0, 1), got {color_jitter!r}")
        if not 0 < crop_scale[0] <= crop_scale[1] <= 1:
            raise ValueError(f"crop_scale must be (low, high) with 0 < low <= high <= 1, got {crop_scale!r}")
        self.mode = ("small" if size <= SMALL_IMAGE_MAX else "large") if mode == "auto" else mode
        self.flip, self.rotate, self.crop = bool(flip), bool(rotate), bool(crop)
        self.trivial_augment = bool(trivial_augment)
        self.color_jitter, self.crop_scale = float(color_jitter), tuple(float(s) for s in crop_scale)

    @property
    def resize_size(self) -> int | None:
        return self._resize_size

    @property
    def cache_size(self) -> int:
        """Return the resolution training should cache images at."""
        if self._resize_size is not None:
            return self._resize_size
        return self.size if self.mode == "small" else default_resize_size(self.size)

    @property
    def pad(self) -> int:
        """Return the reflect padding of small-mode crops: 4 px at 32 px."""
        return max(1, self.size // 8)

    def eval_preset(self) -> EvalPreset:
        """Return the matching evaluation preset, which reads the same cache."""
        return EvalPreset(size=self.size, resize_size=self.cache_size, mean=self.mean, std=self.std)

    def __call__(self, images: Tensor, *, generator: torch.Generator | None = None) -> Tensor:
        """Return (B, 3, size, size) augmented normalised floats from (B, 3, S, S) uint8 images."""
        _check_images(images)
        images = self._resized(images, self.cache_size)  # (B, 3, C, C) uint8
        if self.mode == "small" or not self.crop:
            pad = self.pad if self.crop and self.mode == "small" else 0
            x = augment.pad_crop_flip(images, self.size, pad=pad, crop=self.crop, flip=self.flip,
                                      rotate=self.rotate, generator=generator)  # (B, 3, size, size) uint8
        else:
            x = augment.resized_crop_flip(images.float(), self.size, scale=self.crop_scale, flip=self.flip,
                                          rotate=self.rotate, generator=generator)  # (B, 3, size, size) float
        if not (self.color_jitter or self.trivial_augment):
            return self._normalize(x, top=255)  # (B, 3, size, size) float32
        x = x.float() / 255
        if self.color_jitter:
            x = augment.color_jitter_(x, self.color_jitter, generator)
        if self.trivial_augment:
            x = augment.trivial_augment(x, generator)
        return self._normalize(x, top=1)


_PRESETS = {"EvalPreset": EvalPreset, "TrainPreset": TrainPreset}


def preset_from_dict(d: dict) -> EvalPreset | TrainPreset:
    """Rebuild a preset from its `to_dict()`."""
    values = dict(d)
    kind = values.pop("type", None)
    if kind not in _PRESETS:
        raise ValueError(f"unknown preset type {kind!r}; expected one of {', '.join(_PRESETS)}")
    if "crop_scale" in values:
        values["crop_scale"] = tuple(values["crop_scale"])
    return _PRESETS[kind](**values)


def augment_presets() -> dict[str, dict]:
    """Return the named training augmentations as TrainPreset keyword arguments (without size).

    Mirroring and quarter turns are not part of a level: they depend on what the images show, so the
    caller adds flip=True / rotate=True where the data allows them (every level but "none" then uses them).
    """
    return {
        "none": {"crop": False},
        "light": {"crop": True},
        "standard": {"crop": True, "color_jitter": 0.2},
        "strong": {"crop": True, "color_jitter": 0.2, "trivial_augment": True},
    }
