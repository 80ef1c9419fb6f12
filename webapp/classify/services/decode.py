"""Turn untrusted image bytes into the pixels a model's preset expects (no Django: the benchmark uses it too).

The safety checks are the datasets app's (allowed formats only, pixel limits, truncation), so an image
Lux refuses to store is refused here too, with the same words. The geometry is classifier.presets'
decode_for_cache: shorter side resized, centre square, one bilinear pass.
"""

from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image

from webapp.datasets import validation
from webapp.datasets.validation import Limits, RejectedFile

THUMBNAIL_SIZE = 128
DEFAULT_LIMITS = Limits()


class DecodedImage:
    """The (R, R, 3) uint8 pixels of one image, and optionally its small WebP thumbnail."""

    __slots__ = ("pixels", "thumbnail")

    def __init__(self, pixels: np.ndarray, thumbnail: bytes | None):
        self.pixels = pixels
        self.thumbnail = thumbnail


def open_checked(data: bytes, side: int, limits: Limits) -> Image.Image:
    """Return the image upright in RGB, JPEGs decoded straight at the smallest scale that covers `side`."""
    # The private entry point is the public open_rgb plus libjpeg's draft scaling (as make_thumbnail uses
    # it): a 12-megapixel photo decodes at 1/8 scale in a fraction of the time, as in training's cache.
    return validation._open_rgb(data, limits, draft_size=side)


def square_pixels(image: Image.Image, side: int) -> np.ndarray:
    """Return (side, side, 3) uint8: shorter side resized to `side`, centre-cropped (decode_for_cache's geometry)."""
    # Not decode_for_cache itself: open_rgb already turned the image upright but keeps the EXIF tag, so a
    # second exif_transpose would rotate it twice.
    width, height = image.size
    short = min(width, height)
    left, top = (width - short) / 2, (height - short) / 2
    resized = image.resize((side, side), Image.Resampling.BILINEAR, box=(left, top, left + short, top + short),
                           reducing_gap=3.0)
    return np.array(resized, dtype=np.uint8)


def thumbnail_bytes(image: Image.Image, size: int = THUMBNAIL_SIZE) -> bytes:
    """Return a WebP thumbnail whose longer side is at most `size`."""
    small = image.copy()
    small.thumbnail((size, size), Image.Resampling.BILINEAR, reducing_gap=2.0)
    out = io.BytesIO()
    small.save(out, "WEBP", quality=80, method=2)
    return out.getvalue()


def decode(data: bytes, side: int, *, limits: Limits = DEFAULT_LIMITS, thumbnail: bool = False) -> DecodedImage:
    """Return the pixels (and thumbnail) of untrusted bytes, or raise RejectedFile saying why not."""
    image = open_checked(data, side, limits)
    return DecodedImage(square_pixels(image, side), thumbnail_bytes(image) if thumbnail else None)


def as_batch(pixels: list[np.ndarray]) -> torch.Tensor:
    """Return (B, 3, R, R) uint8 from a list of (R, R, 3) uint8 arrays."""
    return torch.from_numpy(np.stack(pixels)).permute(0, 3, 1, 2)  # (B, 3, R, R) uint8


def as_seen(normalized: torch.Tensor, mean, std) -> Image.Image:
    """Return one (3, S, S) normalised image as the RGB picture the model was given."""
    mean_t = torch.tensor(mean).view(3, 1, 1)
    std_t = torch.tensor(std).view(3, 1, 1)
    rgb = (normalized.detach().float().cpu() * std_t + mean_t).clamp(0, 1)  # (3, S, S) in [0, 1]
    return Image.fromarray((rgb.permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8))


def error_text(error: Exception) -> str:
    """Return a sentence for a person about why one image could not be classified."""
    message = getattr(error, "message", None)  # RejectedFile, BadArchive: already a sentence for a person
    if isinstance(error, RejectedFile) or isinstance(message, str):
        return str(message)[:500]
    return f"could not be classified ({type(error).__name__})"
