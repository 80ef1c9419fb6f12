"""What a person sees when an image is accepted or rejected, and the pixels Lux then uses."""

import hashlib
import io
import time
import tracemalloc
import warnings
from concurrent.futures import ThreadPoolExecutor

import pytest
from PIL import Image, ImageFile

from tests import hostile_files as h
from webapp.datasets.validation import (
    CheckedImage,
    Limits,
    RejectedFile,
    check_image,
    format_bytes,
    make_thumbnail,
    open_rgb,
)

REJECTION_MESSAGES = {
    "truncated.jpg": "file is truncated: the image data ends early",
    "truncated.png": "file is truncated: the image data ends early",
    "empty.jpg": "the file is empty",
    "notes.jpg": "not an image: looks like text",
    "login.png": "not an image: looks like HTML",
    "logo.svg": "SVG images are not accepted: convert to PNG",
    "scan.pdf": "not an image: looks like a PDF document",
    "noise.jpg": "not an image: its contents match none of JPEG, PNG, WebP, BMP, GIF or TIFF",
    "bomb.png": "image is 14000x14000 (196 megapixels); the limit is 40 megapixels",
    "dot.png": "image is 1x1; the minimum is 8x8",
}


def rejection(data, **kwargs) -> RejectedFile:
    with pytest.raises(RejectedFile) as caught:
        check_image(data, **kwargs)
    return caught.value


@pytest.mark.parametrize("filename", sorted(h.REJECTED))
def test_it_rejects_each_hostile_file_with_a_reason(filename):
    make, reason = h.REJECTED[filename]
    error = rejection(make())
    assert (error.reason, error.message) == (reason, REJECTION_MESSAGES[filename])
    assert str(error) == error.message


EXPECTED = {
    "photo.jpg": ("JPEG", "RGB", 32, 24, 1),
    "drawing.png": ("PNG", "RGB", 32, 24, 1),
    "web.webp": ("WEBP", "RGB", 32, 24, 1),
    "old.bmp": ("BMP", "RGB", 32, 24, 1),
    "scan.tiff": ("TIFF", "RGB", 32, 24, 1),
    "still.gif": ("GIF", "P", 32, 24, 1),
    "print.jpg": ("JPEG", "CMYK", 24, 16, 1),
    "deep.png": ("PNG", "I;16", 16, 16, 1),
    "sticker.png": ("PNG", "P", 16, 16, 1),
    "dance.gif": ("GIF", "P", 16, 16, 3),
    "portrait.jpg": ("JPEG", "RGB", 20, 40, 1),
    h.UNICODE_NAME: ("PNG", "RGB", 32, 24, 1),
}


@pytest.mark.parametrize("filename", sorted(h.ACCEPTED))
def test_it_accepts_each_allowed_format(filename):
    data = h.ACCEPTED[filename]()
    checked = check_image(data)
    fmt, mode, width, height, frames = EXPECTED[filename]
    assert checked == CheckedImage(sha256=hashlib.sha256(data).hexdigest(), width=width, height=height,
                                   format=fmt, mode=mode, size_bytes=len(data), frames=frames)


def test_it_rejects_a_truncated_jpeg_that_pillow_verify_lets_through():
    data = h.truncated_jpeg()
    Image.open(io.BytesIO(data)).verify()  # Pillow's own check passes...
    assert rejection(data).reason == "truncated"  # ...only decoding finds the missing half


def test_it_rejects_damaged_data_in_an_allowed_format():
    data = bytearray(h.good_png(32, 32))
    data[data.index(b"IDAT") + 20] ^= 0xFF  # the chunk's checksum no longer matches
    error = rejection(bytes(data))
    assert (error.reason, error.message) == ("corrupt", "file is damaged: the PNG data cannot be decoded")


def test_it_names_text_that_happens_to_start_like_a_bitmap():
    error = rejection(b"BMW service notes: brakes replaced\n")
    assert (error.reason, error.message) == ("not_an_image", "not an image: looks like text")


@pytest.mark.parametrize(("data", "reason", "message"), [
    (b"\0\0\0\x18ftypheic\0\0\0\0mif1heic", "unsupported_format",
     "HEIC images are not accepted: convert to JPEG"),
    (b"\0\0\0\x1cftypavif\0\0\0\0avifmif1", "unsupported_format",
     "AVIF images are not accepted: convert to PNG or JPEG"),
    (b"8BPS\0\1" + b"\0" * 40, "unsupported_format", "Photoshop files are not accepted: export a PNG"),
    (b"\0\0\1\0\1\0\x10\x10" + b"\0" * 40, "unsupported_format",
     "ICO images are not accepted: convert to PNG"),
    (h.imagefolder_zip(), "not_an_image",
     "not an image: looks like a ZIP archive (import archives with ZIP import)"),
    (b"<?xml version='1.0'?><feed></feed>", "not_an_image", "not an image: looks like XML"),
    (b"\xef\xbb\xbf  <svg xmlns='http://www.w3.org/2000/svg'/>", "unsupported_format",
     "SVG images are not accepted: convert to PNG"),
])
def test_it_says_what_a_non_image_looks_like(data, reason, message):
    error = rejection(data)
    assert (error.reason, error.message) == (reason, message)


def test_it_checks_a_bombs_claimed_size_before_decoding_a_pixel():
    data = h.huge_png_header()
    assert len(data) < 100  # claims 196 megapixels: 588 MB once decoded
    tracemalloc.start()
    started = time.perf_counter()
    try:
        error = rejection(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert error.reason == "too_many_pixels"
    assert time.perf_counter() - started < 0.5
    assert peak < 2 * 1024 * 1024


def test_a_higher_limit_never_lets_through_what_pillow_calls_a_bomb():
    # 100 megapixels: above Pillow's warning threshold (89.5 MP), below its hard error (179 MP).
    data = h.huge_png_header(10_000, 10_000)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        error = rejection(data, limits=Limits(max_pixels=500_000_000))
    assert (error.reason, error.message) == (
        "too_many_pixels", "image is 10000x10000 (100 megapixels); the limit is 89.5 megapixels")
    assert not [w for w in seen if issubclass(w.category, Image.DecompressionBombWarning)]


def test_it_rejects_the_same_when_warnings_are_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        error = rejection(h.huge_png_header(10_000, 10_000), limits=Limits(max_pixels=500_000_000))
    assert error.reason == "too_many_pixels"


def test_checking_leaves_pillows_process_wide_settings_alone():
    before = (Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES, list(warnings.filters))
    for make, _ in h.REJECTED.values():
        with pytest.raises(RejectedFile):
            check_image(make())
    check_image(h.good_jpeg())
    assert (Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES, list(warnings.filters)) == before


def verdict(data: bytes) -> str:
    try:
        return check_image(data).sha256
    except RejectedFile as e:
        return e.reason


def test_checks_in_parallel_threads_give_the_same_verdicts():
    corpus = [make() for make, _ in h.REJECTED.values()] + [make() for make in h.ACCEPTED.values()]
    with ThreadPoolExecutor(max_workers=4) as pool:
        parallel = list(pool.map(verdict, corpus * 4))
    assert parallel == [verdict(data) for data in corpus] * 4


def test_it_refuses_to_check_while_truncated_images_are_allowed(monkeypatch):
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with pytest.raises(RuntimeError, match="LOAD_TRUNCATED_IMAGES"):
        check_image(h.truncated_jpeg())


def test_the_pixel_and_side_limits_are_configurable():
    data = h.good_png(32, 24)
    error = rejection(data, limits=Limits(max_pixels=700))
    assert error.message == "image is 32x24 (768 pixels); the limit is 700 pixels"
    assert rejection(data, limits=Limits(min_side=25)).message == "image is 32x24; the minimum is 25x25"
    assert check_image(h.good_png(8, 8)).width == 8  # the minimum itself is fine


def test_it_rejects_files_over_the_byte_limit():
    data = h.good_png(32, 24)
    error = rejection(data, limits=Limits(max_bytes=1000))
    expected = f"file is {format_bytes(len(data))}; the limit is 1000 bytes"
    assert (error.reason, error.message) == ("too_large", expected)
    assert rejection(io.BytesIO(data), limits=Limits(max_bytes=1000)).message == error.message


class _Pipe(io.RawIOBase):
    """A stream that cannot seek, like a socket."""

    def __init__(self, data: bytes):
        self._data = io.BytesIO(data)

    def readable(self):
        return True

    def readinto(self, buffer):
        chunk = self._data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def test_it_stops_reading_a_stream_at_the_byte_limit():
    error = rejection(_Pipe(h.good_png(32, 24)), limits=Limits(max_bytes=1000))
    assert error.message == "file is more than 1000 bytes; the limit is 1000 bytes"


def test_it_hashes_a_stream_from_its_start():
    data = h.good_jpeg()
    stream = io.BytesIO(data)
    stream.seek(0, io.SEEK_END)  # as a caller leaves it after reading it once
    assert check_image(stream).sha256 == hashlib.sha256(data).hexdigest()
    assert check_image(_Pipe(data)).sha256 == hashlib.sha256(data).hexdigest()


def test_format_bytes_reads_like_a_person_writes():
    assert [format_bytes(n) for n in (0, 812, 3584, 50 * 1024**2, 1024**3 + 1)] == [
        "0 bytes", "812 bytes", "3.5 KB", "50 MB", "1 GB"]


# ---------------------------------------------------------------- pixels


def test_open_rgb_turns_an_exif_rotated_photo_the_right_way_up():
    im = open_rgb(h.exif_rotated_jpeg())
    assert (im.mode, im.size) == ("RGB", (20, 40))
    red, blue = im.getpixel((10, 5)), im.getpixel((10, 35))
    assert red[0] > 200 and red[2] < 50
    assert blue[2] > 200 and blue[0] < 50


def test_open_rgb_uses_the_first_frame_of_an_animation():
    assert open_rgb(h.animated_gif()).getpixel((8, 8)) == (255, 0, 0)


def test_open_rgb_converts_cmyk_to_the_same_colour():
    r, g, b = open_rgb(h.cmyk_jpeg()).getpixel((5, 5))
    assert r > 240 and g < 15 and b < 15


def test_open_rgb_scales_16_bit_grey_instead_of_clipping_it_to_white():
    assert open_rgb(h.png_16bit(value=32768)).getpixel((0, 0)) == (127, 127, 127)
    assert open_rgb(h.png_16bit(value=65535)).getpixel((0, 0)) == (255, 255, 255)


def test_open_rgb_lays_transparent_pixels_on_white():
    im = open_rgb(h.palette_alpha_png())
    assert (im.mode, im.getpixel((0, 0)), im.getpixel((15, 0))) == ("RGB", (255, 255, 255), (0, 0, 255))


@pytest.mark.parametrize("mode", ["1", "L", "LA", "RGBA", "I", "F"])
def test_open_rgb_converts_every_other_mode(mode):
    buf = io.BytesIO()
    Image.new(mode, (8, 8)).save(buf, "TIFF")
    assert open_rgb(buf.getvalue()).mode == "RGB"


def test_open_rgb_refuses_a_bomb_too():
    assert pytest.raises(RejectedFile, open_rgb, h.huge_png_header()).value.reason == "too_many_pixels"


def test_make_thumbnail_is_small_upright_rgb():
    thumb = make_thumbnail(h.good_jpeg(640, 480))
    with Image.open(io.BytesIO(thumb)) as im:
        assert (im.format, im.mode, im.size) == ("WEBP", "RGB", (256, 192))
    with Image.open(io.BytesIO(make_thumbnail(h.exif_rotated_jpeg(), size=16, fmt="JPEG"))) as im:
        assert (im.format, im.size) == ("JPEG", (8, 16))


def test_make_thumbnail_rejects_an_unknown_format():
    with pytest.raises(ValueError, match="thumbnail format must be one of WEBP, JPEG, PNG"):
        make_thumbnail(h.good_jpeg(), fmt="GIF")
