"""Rendering: heatmap overlays and grids become PNGs of the right size and colours."""

import io

import numpy as np
import pytest
import torch
from PIL import Image

from classifier.explain import colorize, grid_png, heatmap_png, overlay, overlay_png, png_bytes


def decode(png: bytes) -> Image.Image:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return Image.open(io.BytesIO(png))


def test_colours_run_from_blue_for_cold_to_red_for_hot():
    colours = colorize(np.array([[0.0, 0.5, 1.0]])).astype(int)  # (1, 3, 3)
    cold, hot = colours[0, 0], colours[0, 2]
    assert cold[2] > cold[0] and hot[0] > hot[2]
    assert tuple(cold) == (0, 0, 128) and tuple(hot) == (128, 0, 0)  # dark blue to dark red, as jet goes


def test_overlay_covers_the_whole_image_at_its_own_size():
    image = Image.new("RGB", (48, 40), (128, 128, 128))
    heatmap = torch.zeros(32, 32)
    heatmap[:16, :16] = 1.0  # hot top-left

    blended = np.asarray(decode(overlay_png(image, heatmap, alpha=0.6)).convert("RGB")).astype(int)

    assert blended.shape == (40, 48, 3)
    hot, cold = blended[2, 2], blended[-3, -3]
    assert hot[0] > hot[2] and cold[2] > cold[0]  # red where the model looked, blue where it did not


def test_overlay_with_no_weight_is_the_original():
    image = Image.new("RGB", (8, 8), (10, 200, 30))
    assert np.array_equal(np.asarray(overlay(image, torch.rand(8, 8), alpha=0.0)), np.asarray(image))
    with pytest.raises(ValueError):
        overlay(image, torch.rand(8, 8), alpha=1.5)


def test_grids_become_pngs_scaled_without_blur():
    gray = torch.tensor([[0.0, 1.0], [1.0, 0.0]])
    png = decode(grid_png(gray, scale=4))
    assert png.size == (8, 8) and png.mode == "L"
    assert np.array_equal(np.unique(np.asarray(png)), [0, 255])  # nearest neighbour: no in-between greys

    rgb = decode(grid_png(torch.rand(3, 5, 7)))
    assert rgb.size == (7, 5) and rgb.mode == "RGB"
    assert decode(heatmap_png(torch.rand(6, 6), scale=2)).size == (12, 12)
    with pytest.raises(ValueError):
        grid_png(torch.rand(4, 5, 5))


def test_a_photo_encodes_losslessly_at_the_fast_level():
    from skimage import data

    photo = Image.fromarray(data.astronaut()).resize((224, 224))
    encoded = png_bytes(photo)
    assert np.array_equal(np.asarray(decode(encoded).convert("RGB")), np.asarray(photo))
    default = io.BytesIO()
    photo.save(default, format="PNG")  # Pillow's default zlib level, 6: three times slower on a photo
    # Fast rather than small: a lower level than the default, which costs a few percent in size, not more.
    assert len(default.getvalue()) < len(encoded) < 1.15 * len(default.getvalue())
