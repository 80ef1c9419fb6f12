"""Presets: eval agrees with the training cache, augmentation works on whole batches and repeats by seed."""

import io
import json

import numpy as np
import pytest
import torch
from PIL import Image, ImageOps
from torchvision.transforms import v2

from classifier import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    EvalPreset,
    TrainPreset,
    augment_presets,
    decode_for_cache,
    preset_from_dict,
)


def smooth_image(width, height, mode="RGB"):
    """Return an image of gentle gradients (resampling methods agree closely on it)."""
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.stack([x * 255 / width, y * 255 / height, (x + y) * 127 / (width + height) + 64], axis=2)
    return Image.fromarray(rgb.astype(np.uint8), "RGB").convert(mode)


def reopened(image, fmt="PNG", **options):
    """Return `image` after a round trip through a file, unloaded, as an upload would be."""
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    buffer.seek(0)
    return Image.open(buffer)


def as_batch(array):
    return torch.from_numpy(array).permute(2, 0, 1)[None]  # (1, 3, S, S) uint8


def unnormalize(x):
    mean, std = torch.tensor(IMAGENET_MEAN).view(-1, 1, 1), torch.tensor(IMAGENET_STD).view(-1, 1, 1)
    return x * std + mean


@pytest.mark.parametrize("mode", ["RGB", "L", "CMYK", "RGBA", "P"])
def test_eval_of_a_file_equals_eval_of_the_cache(mode):
    preset = EvalPreset(size=24, resize_size=28)
    single = preset(reopened(smooth_image(50, 37, mode), "TIFF" if mode == "CMYK" else "PNG"))
    cached = decode_for_cache(reopened(smooth_image(50, 37, mode), "TIFF" if mode == "CMYK" else "PNG"), 28)
    assert single.shape == (3, 24, 24) and single.dtype == torch.float32
    torch.testing.assert_close(single, preset.batch(as_batch(cached))[0])


def test_eval_matches_the_usual_resize_and_centre_crop():
    image = smooth_image(300, 200)
    usual = v2.Compose([v2.PILToTensor(), v2.Resize(256, antialias=True), v2.CenterCrop(224),
                        v2.ToDtype(torch.float32, scale=True), v2.Normalize(IMAGENET_MEAN, IMAGENET_STD)])
    ours = EvalPreset(size=224)(image)
    assert EvalPreset(size=224).resize_size == 256
    assert (ours - usual(image)).abs().mean() < 0.02


def test_jpegs_decoded_at_reduced_scale_stay_close():
    image = smooth_image(256, 256)
    fast = decode_for_cache(reopened(image, "JPEG", quality=95), 32).astype(int)
    full = np.asarray(image.resize((32, 32), Image.Resampling.BILINEAR)).astype(int)
    assert np.abs(fast - full).mean() < 3


def test_it_turns_photos_upright():
    image = Image.new("RGB", (40, 20), "blue")
    image.paste((255, 0, 0), (0, 0, 20, 20))  # left half red
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was turned: display rotated 90 degrees clockwise
    upright = decode_for_cache(reopened(image, exif=exif), 20)
    assert tuple(upright[2, 2]) == (255, 0, 0) and tuple(upright[17, 2]) == (0, 0, 255)  # red on top
    as_stored = decode_for_cache(reopened(image), 20)
    assert tuple(as_stored[17, 2]) == (255, 0, 0)


@pytest.mark.parametrize(
    "image, expected",
    [
        (Image.fromarray(np.full((8, 8), 65535, np.uint16)), (255, 255, 255)),  # 16-bit white, not clipped
        (Image.fromarray(np.full((8, 8), 32896, np.uint16)), (128, 128, 128)),
        (Image.new("RGBA", (8, 8), (10, 20, 30, 0)), (255, 255, 255)),  # transparent lies on white
        (Image.new("LA", (8, 8), (0, 255)), (0, 0, 0)),
        (Image.new("L", (8, 8), 100), (100, 100, 100)),
        (Image.new("CMYK", (8, 8), (0, 255, 255, 0)), (255, 0, 0)),
        (Image.new("1", (8, 8), 1), (255, 255, 255)),
        (Image.fromarray(np.full((8, 8), 0.5, np.float32)), (128, 128, 128)),
    ],
)
def test_any_mode_becomes_rgb(image, expected):
    pixels = decode_for_cache(reopened(image, "TIFF") if image.mode == "CMYK" else image, 4)
    assert pixels.shape == (4, 4, 3) and pixels.dtype == np.uint8
    assert tuple(pixels[1, 1]) == expected


def test_palette_with_transparency_lies_on_white():
    image = Image.new("P", (8, 8), 0)
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    image.paste(1, (0, 0, 4, 8))
    image.info["transparency"] = 0
    pixels = decode_for_cache(reopened(image), 8)
    assert tuple(pixels[4, 1]) == (255, 0, 0) and tuple(pixels[4, 6]) == (255, 255, 255)


def random_batch(n=16, side=32, seed=0):
    return torch.randint(0, 256, (n, 3, side, side), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("name", list(augment_presets()))
@pytest.mark.parametrize("size", [32, 112])
def test_named_presets_repeat_by_seed(name, size):
    preset = TrainPreset(size=size, **augment_presets()[name])
    images = random_batch(side=preset.cache_size)
    first = preset(images, generator=torch.Generator().manual_seed(3))
    again = preset(images, generator=torch.Generator().manual_seed(3))
    other = preset(images, generator=torch.Generator().manual_seed(4))
    assert first.shape == (16, 3, size, size) and first.dtype == torch.float32
    torch.testing.assert_close(first, again)
    assert torch.equal(first, other) == (name == "none")
    assert unnormalize(first).min() >= -1e-5 and unnormalize(first).max() <= 1 + 1e-5


def test_cache_sizes():
    assert TrainPreset(size=32).cache_size == 32 and TrainPreset(size=32).mode == "small"
    assert TrainPreset(size=224).cache_size == 256 and TrainPreset(size=224).mode == "large"
    assert TrainPreset(size=224).eval_preset() == EvalPreset(size=224, resize_size=256)


def test_small_crops_are_shifted_windows_of_the_reflected_image():
    images = random_batch(n=32)
    out = TrainPreset(size=32, flip=False, mean=(0, 0, 0), std=(1, 1, 1))(images) * 255
    padded = torch.nn.functional.pad(images.float(), (4, 4, 4, 4), mode="reflect")
    windows = {(dy, dx): padded[..., dy:dy + 32, dx:dx + 32] for dy in range(9) for dx in range(9)}
    shifts = []
    for i in range(32):
        matches = [key for key, window in windows.items() if torch.allclose(window[i], out[i], atol=1e-3)]
        assert matches, f"image {i} is not a window of the padded image"
        shifts.append(matches[0])
    assert len(set(shifts)) > 5


def test_flips_mirror_about_half_the_images():
    images = random_batch(n=200, side=37)
    out = TrainPreset(size=32, resize_size=37, crop=False, flip=True, mean=(0, 0, 0), std=(1, 1, 1))(
        images, generator=torch.Generator().manual_seed(0)) * 255
    centre = images[..., 2:34, 2:34].float()  # torchvision's CenterCrop rounding: round(2.5) == 2
    same = torch.isclose(out, centre, atol=1e-3).flatten(1).all(1)
    mirrored = torch.isclose(out, centre.flip(3), atol=1e-3).flatten(1).all(1)
    assert bool((same | mirrored).all())
    assert 70 < int(mirrored.sum()) < 130


def test_resized_crops_of_a_flat_image_stay_flat():
    images = torch.full((8, 3, 80, 80), 200, dtype=torch.uint8)
    out = TrainPreset(size=70, crop_scale=(0.08, 1.0), mean=(0, 0, 0), std=(1, 1, 1))(images)
    torch.testing.assert_close(out, torch.full_like(out, 200 / 255))  # no black edges leak in


def test_colour_jitter_changes_brightness_per_image():
    images = torch.full((64, 3, 8, 8), 120, dtype=torch.uint8)
    out = TrainPreset(size=8, flip=False, crop=False, color_jitter=0.4)(images)
    means = unnormalize(out)[:, 0].mean((1, 2))
    assert means.std() > 0.02
    assert (means > 120 / 255 * 0.55).all() and (means < 120 / 255 * 1.45).all()


def test_trivial_augment_ops_agree_with_pil():
    from classifier import augment

    image = smooth_image(16, 16).rotate(30)
    x = torch.from_numpy(np.array(image)).permute(2, 0, 1)[None].float() / 255
    as_pil = lambda t: (t[0].permute(1, 2, 0) * 255).round().byte().numpy()  # noqa: E731
    np.testing.assert_array_equal(as_pil(augment._equalize(x, None)), np.asarray(ImageOps.equalize(image)))
    np.testing.assert_array_equal(as_pil(augment._posterize(x, torch.tensor([0.5]))),
                                  np.asarray(ImageOps.posterize(image, 5)))
    solarized = as_pil(augment._OPS["solarize"](x, torch.tensor([0.5])))
    assert np.abs(solarized.astype(int) - np.asarray(ImageOps.solarize(image, 128))).max() <= 1


def test_presets_round_trip_through_json():
    for preset in (EvalPreset(size=48, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25)),
                   TrainPreset(size=224, trivial_augment=True, color_jitter=0.1, crop_scale=(0.3, 0.9))):
        again = preset_from_dict(json.loads(json.dumps(preset.to_dict())))
        assert again == preset and type(again) is type(preset)
    with pytest.raises(ValueError, match="unknown preset type"):
        preset_from_dict({"type": "Crop"})


def test_the_none_preset_matches_eval():
    images = random_batch(n=4, side=73)
    train = TrainPreset(size=64, resize_size=73, **augment_presets()["none"])
    torch.testing.assert_close(train(images), train.eval_preset().batch(images))


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="mode"):
        TrainPreset(size=32, mode="medium")
    with pytest.raises(ValueError, match="resize_size"):
        EvalPreset(size=32, resize_size=16)
    with pytest.raises(TypeError):
        EvalPreset(32)  # keyword-only


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_batches_match_cpu_batches():
    preset = TrainPreset(size=32, **augment_presets()["strong"])
    images = random_batch(n=64)
    on_cpu = preset(images, generator=torch.Generator().manual_seed(1))
    on_gpu = preset(images.cuda(), generator=torch.Generator().manual_seed(1))
    assert on_gpu.device.type == "cuda"
    assert (on_gpu.cpu() - on_cpu).abs().mean() < 1e-3
