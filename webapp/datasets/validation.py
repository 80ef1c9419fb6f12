"""Decide whether uploaded bytes are an image Lux accepts, and turn accepted ones into RGB pixels.

Pure Python and Pillow (no Django), shared by browser uploads, the API, ZIP import and batch
classification.

Thread safety: nothing here changes Pillow's process-wide state (``Image.MAX_IMAGE_PIXELS``,
``ImageFile.LOAD_TRUNCATED_IMAGES``, the ``warnings`` filters; ``warnings.catch_warnings`` is itself
process-wide and not thread-safe in Python 3.11). Instead, images are identified with the allowed
format plugins directly, which reads only the header, and their size is checked against
``min(limits.max_pixels, Image.MAX_IMAGE_PIXELS)`` before a pixel is decoded. So every image that
would make Pillow raise a ``DecompressionBombWarning`` is rejected first, as an error; should Pillow
still warn or raise one while decoding (a GIF frame growing the canvas), that is rejected too.
"""

from __future__ import annotations

import codecs
import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

from PIL import Image, ImageFile

Image.init()  # register every plugin once, at import, instead of lazily inside a request

ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "GIF", "TIFF")
_FORMAT_NAMES = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WebP", "BMP": "BMP", "GIF": "GIF", "TIFF": "TIFF"}
_FORMAT_ALIASES = {"MPO": "JPEG"}  # multi-picture JPEGs from cameras open as MPO
_CHUNK = 1024 * 1024

# Pillow's messages when the data stops before the image does (they differ by plugin).
_TRUNCATION_HINTS = ("truncated", "buffer of at least", "requires a buffer", "no more images", "ended")


@dataclass(frozen=True, kw_only=True)
class Limits:
    max_pixels: int = 40_000_000
    min_side: int = 8
    max_bytes: int = 50 * 1024 * 1024


@dataclass(frozen=True)
class CheckedImage:
    sha256: str
    width: int  # as displayed, after EXIF orientation
    height: int
    format: str  # one of ALLOWED_FORMATS
    mode: str  # Pillow's mode as stored: 'RGB', 'CMYK', 'I;16', 'P', ...
    size_bytes: int
    frames: int


class RejectedFile(Exception):
    """A file Lux will not store: `reason` is a short code, `message` a sentence for a person."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message


def format_bytes(n: int) -> str:
    """Return a byte count the way a person reads it: '812 bytes', '3.5 KB', '50 MB', '1 GB'."""
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if n >= scale:
            return f"{_one_decimal(n / scale)} {unit}"
    return f"{n} bytes"


def as_sentence(text: str, *, keep_case: bool = False) -> str:
    """Return `text` as a sentence for a person: a capital first letter (unless `keep_case`) and a full stop."""
    text = text if keep_case else text[:1].upper() + text[1:]
    return text if text.endswith(".") else text + "."


def _one_decimal(x: float) -> str:
    return f"{x:.1f}".removesuffix(".0")


def check_image(data: bytes | BinaryIO, *, limits: Limits = Limits()) -> CheckedImage:
    """Return what an accepted image is, or raise RejectedFile saying why it is not accepted."""
    raw, digest = _read_all(data, limits.max_bytes)
    if not raw:
        raise RejectedFile("empty", "the file is empty")
    with _open_allowed(raw) as im:
        _check_pixels(im.size, limits.max_pixels)
        _check_min_side(im.size, limits.min_side)
        fmt = _FORMAT_ALIASES.get(im.format, im.format)
        _decode(fmt, im.verify)  # checksums and structure; leaves `im` unusable
    with _open_allowed(raw) as im:
        frames = _decode(fmt, lambda: getattr(im, "n_frames", 1))
        _decode(fmt, im.load)  # the first frame's pixels, for real
        width, height = _displayed_size(im)
        mode = im.mode
    return CheckedImage(sha256=digest, width=width, height=height, format=fmt, mode=mode,
                        size_bytes=len(raw), frames=frames)


def open_rgb(data: bytes | BinaryIO, *, limits: Limits = Limits()) -> Image.Image:
    """Return the first frame as an RGB image the right way up, transparency laid on white."""
    return _open_rgb(data, limits, draft_size=None)


def make_thumbnail(data: bytes | BinaryIO, *, size: int = 256, fmt: str = "WEBP", quality: int = 80) -> bytes:
    """Return a small RGB thumbnail (longest side at most `size`), the right way up, encoded as `fmt`."""
    if fmt.upper() not in _THUMBNAIL_OPTIONS:
        raise ValueError(f"thumbnail format must be one of {', '.join(_THUMBNAIL_OPTIONS)}, not {fmt!r}")
    options = _THUMBNAIL_OPTIONS[fmt.upper()](quality)
    im = _open_rgb(data, Limits(), draft_size=size)
    im.thumbnail((size, size), Image.Resampling.LANCZOS, reducing_gap=2.0)
    out = io.BytesIO()
    im.save(out, fmt.upper(), **options)
    return out.getvalue()


_THUMBNAIL_OPTIONS: dict[str, Callable[[int], dict]] = {
    "WEBP": lambda q: {"quality": q, "method": 4},
    "JPEG": lambda q: {"quality": q, "optimize": True},
    "PNG": lambda q: {"optimize": True},
}


# ---------------------------------------------------------------- reading and identifying


def _read_all(data: bytes | BinaryIO, max_bytes: int) -> tuple[bytes, str]:
    """Return (bytes, sha256 hex), hashing while reading; a stream is read from its start."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        raw = bytes(data)
        if len(raw) > max_bytes:
            raise _too_large(len(raw), max_bytes)
        return raw, hashlib.sha256(raw).hexdigest()
    if data.seekable():
        data.seek(0)
    digest, parts, total = hashlib.sha256(), [], 0
    while chunk := data.read(_CHUNK):
        total += len(chunk)
        if total > max_bytes:  # stop reading: never hold more than the limit
            raise _too_large(_stream_size(data) or total, max_bytes, exact=data.seekable())
        digest.update(chunk)
        parts.append(chunk)
    return b"".join(parts), digest.hexdigest()


def _stream_size(data: BinaryIO) -> int | None:
    if not data.seekable():
        return None
    data.seek(0, io.SEEK_END)
    return data.tell()


def _too_large(size: int, limit: int, *, exact: bool = True) -> RejectedFile:
    amount = format_bytes(size) if exact else f"more than {format_bytes(limit)}"
    return RejectedFile("too_large", f"file is {amount}; the limit is {format_bytes(limit)}")


def _open_allowed(raw: bytes) -> ImageFile.ImageFile:
    """Return the image opened by the first allowed plugin that claims it, having read only its header."""
    # Calling the plugins directly (what Image.open does inside, minus its decompression-bomb check)
    # lets us read a bomb's claimed size and reject it with our own limit, without touching the
    # process-wide warning filters. Formats outside ALLOWED_FORMATS never reach a parser.
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        # Some code in this process made Pillow pad truncated images with grey; we could not tell.
        raise RuntimeError("PIL.ImageFile.LOAD_TRUNCATED_IMAGES is on; turn it off to reject truncated files")
    prefix = raw[:16]
    for fmt in ALLOWED_FORMATS:
        if fmt not in Image.OPEN:  # e.g. Pillow built without WebP
            continue
        factory, accept = Image.OPEN[fmt]
        claimed = accept(prefix) if accept else True
        if claimed is True or (claimed and not isinstance(claimed, str)):
            try:
                return _decode(fmt, lambda factory=factory: factory(io.BytesIO(raw), ""))
            except RejectedFile as error:
                # Two magic bytes can be chance ("BMW ..." is text, not a BMP): say what it really is.
                raise _sniff(raw) or error
    raise _sniff(raw) or RejectedFile(
        "not_an_image", "not an image: its contents match none of JPEG, PNG, WebP, BMP, GIF or TIFF"
    )


def _decode(fmt: str, step: Callable):
    """Run one Pillow step, turning whatever it raises into a RejectedFile a person can read."""
    try:
        return step()
    except RejectedFile:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise RejectedFile("too_many_pixels", "image claims too many pixels to decode safely")
    except EOFError:
        raise _truncated()
    except Exception as e:  # noqa: BLE001 - hostile input makes Pillow raise almost anything
        if any(hint in str(e).lower() for hint in _TRUNCATION_HINTS):
            raise _truncated()
        name = _FORMAT_NAMES.get(fmt, fmt)
        raise RejectedFile("corrupt", f"file is damaged: the {name} data cannot be decoded")


def _truncated() -> RejectedFile:
    return RejectedFile("truncated", "file is truncated: the image data ends early")


def _pixels(n: int) -> str:
    return f"{_one_decimal(n / 1e6)} megapixels" if n >= 100_000 else f"{n:,} pixels"


def _check_pixels(size: tuple[int, int], max_pixels: int) -> None:
    width, height = size
    limit = max_pixels
    if Image.MAX_IMAGE_PIXELS is not None:
        limit = min(limit, Image.MAX_IMAGE_PIXELS)
    if width * height > limit:
        raise RejectedFile(
            "too_many_pixels",
            f"image is {width}x{height} ({_pixels(width * height)}); the limit is {_pixels(limit)}",
        )


def _check_min_side(size: tuple[int, int], min_side: int) -> None:
    width, height = size
    if min(width, height) < min_side:
        raise RejectedFile("too_small", f"image is {width}x{height}; the minimum is {min_side}x{min_side}")


# ---------------------------------------------------------------- naming what a rejected file is

# Files people mistake for images, by how they start: (prefixes, reason, message).
_NOT_ACCEPTED = "images are not accepted: convert to"
_SIGNATURES: list[tuple[tuple[bytes, ...], str, str]] = [
    ((b"%PDF-",), "not_an_image", "not an image: looks like a PDF document"),
    ((b"PK\x03\x04", b"PK\x05\x06"), "not_an_image",
     "not an image: looks like a ZIP archive (import archives with ZIP import)"),
    ((b"\x1f\x8b",), "not_an_image", "not an image: looks like a gzip archive"),
    ((b"7z\xbc\xaf\x27\x1c",), "not_an_image", "not an image: looks like a 7-Zip archive"),
    ((b"Rar!",), "not_an_image", "not an image: looks like a RAR archive"),
    ((b"\0\0\0\x0cjP  ", b"\xff\x4f\xff\x51"), "unsupported_format", f"JPEG 2000 {_NOT_ACCEPTED} PNG"),
    ((b"\xff\x0a", b"\0\0\0\x0cJXL "), "unsupported_format", f"JPEG XL {_NOT_ACCEPTED} PNG"),
    ((b"8BPS",), "unsupported_format", "Photoshop files are not accepted: export a PNG"),
    ((b"\0\0\1\0",), "unsupported_format", f"ICO {_NOT_ACCEPTED} PNG"),
    ((b"qoif",), "unsupported_format", f"QOI {_NOT_ACCEPTED} PNG"),
    ((b"%!PS",), "unsupported_format", "PostScript files are not accepted: convert to PNG"),
]
# ISO media files ("....ftyp" + brand): the brand says which.
_FTYP_BRANDS = {
    **dict.fromkeys((b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1"),
                    ("unsupported_format", f"HEIC {_NOT_ACCEPTED} JPEG")),
    **dict.fromkeys((b"avif", b"avis"), ("unsupported_format", f"AVIF {_NOT_ACCEPTED} PNG or JPEG")),
}
_FTYP_OTHER = ("not_an_image", "not an image: looks like a video")

# Markup and text, tested on the lower-cased start of the decoded text.
_MARKUP: list[tuple[Callable[[str], bool], str, str]] = [
    (lambda t: t.startswith("<svg") or ("<svg" in t and t.startswith(("<?xml", "<!doctype svg", "<!--"))),
     "unsupported_format", "SVG images are not accepted: convert to PNG"),
    (lambda t: t.startswith(("<!doctype html", "<html", "<head", "<body", "<meta", "<!--")) or "<html" in t,
     "not_an_image", "not an image: looks like HTML"),
    (lambda t: t.startswith("<?xml"), "not_an_image", "not an image: looks like XML"),
    (lambda t: True, "not_an_image", "not an image: looks like text"),
]


def _sniff(raw: bytes) -> RejectedFile | None:
    """Return a rejection that names what `raw` looks like, or None when it is unrecognised binary."""
    head = raw[:16]
    for prefixes, reason, message in _SIGNATURES:
        if head.startswith(prefixes):
            return RejectedFile(reason, message)
    if head[4:8] == b"ftyp":
        return RejectedFile(*_FTYP_BRANDS.get(head[8:12], _FTYP_OTHER))
    text = _as_text(raw[:4096])
    if text is None:
        return None
    start = text.lstrip("\ufeff \t\r\n").lower()
    for test, reason, message in _MARKUP:
        if test(start):
            return RejectedFile(reason, message)
    return None


def _as_text(head: bytes) -> str | None:
    """Return `head` decoded as UTF-8 text, or None when it is binary."""
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(head, final=False)  # may end mid-character
    except UnicodeDecodeError:
        return None
    printable = sum(ch.isprintable() or ch in "\t\r\n\f" for ch in text)
    return text if text and "\0" not in text and printable >= 0.95 * len(text) else None


# ---------------------------------------------------------------- orientation and colour


_ORIENTATION = 0x0112
# EXIF orientation -> the transpose that shows the image the right way up (as ImageOps.exif_transpose).
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _orientation(im: Image.Image) -> int:
    """Return the EXIF orientation (1 when absent or unreadable: damaged EXIF must not reject an image)."""
    try:
        value = im.getexif().get(_ORIENTATION, 1)
    except Exception:  # noqa: BLE001
        return 1
    return value if value in _TRANSPOSE else 1


def _displayed_size(im: Image.Image) -> tuple[int, int]:
    width, height = im.size
    return (height, width) if _orientation(im) in (5, 6, 7, 8) else (width, height)


def _open_rgb(data: bytes | BinaryIO, limits: Limits, *, draft_size: int | None) -> Image.Image:
    raw, _ = _read_all(data, limits.max_bytes)
    if not raw:
        raise RejectedFile("empty", "the file is empty")
    with _open_allowed(raw) as im:
        fmt = _FORMAT_ALIASES.get(im.format, im.format)
        _check_pixels(im.size, limits.max_pixels)
        orientation = _orientation(im)
        if draft_size and fmt == "JPEG":
            im.draft(None, (draft_size, draft_size))  # let libjpeg decode at 1/2, 1/4 or 1/8 scale
        _decode(fmt, im.load)
        rgb = _decode(fmt, lambda: _TO_RGB.get(im.mode, _plain)(im))
    if orientation in _TRANSPOSE:
        rgb = rgb.transpose(_TRANSPOSE[orientation])
    return rgb


def _plain(im: Image.Image) -> Image.Image:
    return im.convert("RGB")


def _on_white(im: Image.Image) -> Image.Image:
    rgba = im.convert("RGBA")
    out = Image.new("RGB", im.size, (255, 255, 255))
    out.paste(rgba, mask=rgba.getchannel("A"))
    return out


def _palette(im: Image.Image) -> Image.Image:
    return _on_white(im) if im.has_transparency_data else im.convert("RGB")


def _sixteen_bit(im: Image.Image) -> Image.Image:
    # Pillow's own conversion clips everything above 255 to white; scale 0..65535 down instead.
    return im.convert("I").point(lambda v: v * (1 / 257)).convert("L").convert("RGB")


def _float(im: Image.Image) -> Image.Image:
    _, high = im.getextrema()
    scale = 255 if high <= 1.0 else 1  # float images are usually 0..1
    return im.point(lambda v: v * scale).convert("L").convert("RGB")


_TO_RGB: dict[str, Callable[[Image.Image], Image.Image]] = {
    "RGB": lambda im: im.copy(),
    "RGBA": _on_white,
    "RGBa": _on_white,
    "LA": _on_white,
    "PA": _on_white,
    "P": _palette,
    "I": _sixteen_bit,
    "I;16": _sixteen_bit,
    "I;16B": _sixteen_bit,
    "I;16L": _sixteen_bit,
    "I;16N": _sixteen_bit,
    "F": _float,
}
