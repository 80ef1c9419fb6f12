"""Generate good and hostile upload files as bytes, so no binary fixture is ever committed.

Every function is small, deterministic and fast. Tests of validation, ZIP import, uploads and batch
classification share them; `REJECTED` and `ACCEPTED` name each file the way a person would upload it.
"""

from __future__ import annotations

import io
import random
import stat
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache

from PIL import Image

GiB = 1024**3
MiB = 1024**2

# Decomposed ("e" + combining acute), as macOS writes names into ZIPs; labels must come out NFC.
UNICODE_CLASS_NFD = "cafe\u0301"
UNICODE_CLASS_NFC = "caf\u00e9"
UNICODE_NAME = "\u00d1and\u00fa \u732b \U0001f408.png"


# ---------------------------------------------------------------- good images


def _pattern(width: int, height: int, mode: str = "RGB", seed: int = 0) -> Image.Image:
    """Return a noisy image, so encoders produce real entropy-coded data."""
    rng = random.Random(seed)
    channels = {"RGB": 3, "RGBA": 4, "L": 1}[mode]
    return Image.frombytes(mode, (width, height), rng.randbytes(width * height * channels))


def _encode(im: Image.Image, fmt: str, **options) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **options)
    return buf.getvalue()


def good_jpeg(width: int = 32, height: int = 24, *, seed: int = 0) -> bytes:
    return _encode(_pattern(width, height, seed=seed), "JPEG", quality=90)


def good_png(width: int = 32, height: int = 24, *, seed: int = 0) -> bytes:
    return _encode(_pattern(width, height, seed=seed), "PNG")


def good_webp(width: int = 32, height: int = 24) -> bytes:
    return _encode(_pattern(width, height), "WEBP", quality=80)


def good_bmp(width: int = 32, height: int = 24) -> bytes:
    return _encode(_pattern(width, height), "BMP")


def good_tiff(width: int = 32, height: int = 24) -> bytes:
    return _encode(_pattern(width, height), "TIFF", compression="tiff_deflate")


def good_gif(width: int = 32, height: int = 24) -> bytes:
    return _encode(_pattern(width, height).convert("P"), "GIF")


def solid_png(width: int, height: int, color: tuple[int, int, int]) -> bytes:
    return _encode(Image.new("RGB", (width, height), color), "PNG")


def cmyk_jpeg(width: int = 24, height: int = 16) -> bytes:
    """Return a CMYK JPEG of pure red (print workflows save these)."""
    return _encode(Image.new("RGB", (width, height), (255, 0, 0)).convert("CMYK"), "JPEG", quality=95)


def png_16bit(width: int = 16, height: int = 16, value: int = 65535) -> bytes:
    """Return a 16-bit greyscale PNG whose every pixel is `value` (0..65535)."""
    return _encode(Image.new("I;16", (width, height), value), "PNG")


def palette_alpha_png(width: int = 16, height: int = 16) -> bytes:
    """Return a palette PNG whose left half is fully transparent and right half opaque blue."""
    im = Image.new("P", (width, height), 1)
    im.putpalette([0, 0, 0, 0, 0, 255] + [0] * 762)
    im.paste(0, (0, 0, width // 2, height))
    return _encode(im, "PNG", transparency=0)


def animated_gif(frames: int = 3, width: int = 16, height: int = 16) -> bytes:
    """Return an animated GIF whose first frame is red, then green, then blue."""
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
    ims = [Image.new("RGB", (width, height), colours[i % 3]).convert("P") for i in range(frames)]
    return _encode(ims[0], "GIF", save_all=True, append_images=ims[1:], duration=100, loop=0)


def exif_rotated_jpeg() -> bytes:
    """Return a JPEG stored 40x20 with EXIF orientation 6, displayed 20x40: red on top, blue below."""
    # Stored: left half red, right half blue; orientation 6 turns it 90 degrees clockwise.
    im = Image.new("RGB", (40, 20), (0, 0, 255))
    im.paste((255, 0, 0), (0, 0, 20, 20))
    exif = Image.Exif()
    exif[0x0112] = 6
    return _encode(im, "JPEG", quality=95, exif=exif.tobytes())


def one_pixel_png() -> bytes:
    return _encode(Image.new("RGB", (1, 1), (9, 9, 9)), "PNG")


# ---------------------------------------------------------------- hostile files


def truncated_jpeg() -> bytes:
    """Return a JPEG cut off halfway: it passes verify() and fails at load()."""
    data = good_jpeg(64, 64)
    return data[: len(data) // 2]


def truncated_png() -> bytes:
    data = good_png(64, 64)
    return data[: len(data) // 2]


def empty_file() -> bytes:
    return b""


def text_file() -> bytes:
    return b"These are my holiday notes, not a picture.\nDay 1: beach.\n"


def html_page() -> bytes:
    return b"<!DOCTYPE html>\n<html><head><title>Login</title></head><body>Sign in</body></html>\n"


def svg_image() -> bytes:
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
        b'<rect width="10" height="10" fill="red"/></svg>\n'
    )


def pdf_document() -> bytes:
    return b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def random_bytes(n: int = 512) -> bytes:
    return random.Random(7).randbytes(n)


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def huge_png_header(width: int = 14000, height: int = 14000) -> bytes:
    """Return a tiny PNG (under 100 bytes) whose IHDR claims width x height RGB pixels."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)  # the first pixels of the first row; the rest never arrives
    chunks = _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks


# What a person would call each hostile upload, and the reason Lux must give.
REJECTED: dict[str, tuple[Callable[[], bytes], str]] = {
    "truncated.jpg": (truncated_jpeg, "truncated"),
    "truncated.png": (truncated_png, "truncated"),
    "empty.jpg": (empty_file, "empty"),
    "notes.jpg": (text_file, "not_an_image"),
    "login.png": (html_page, "not_an_image"),
    "logo.svg": (svg_image, "unsupported_format"),
    "scan.pdf": (pdf_document, "not_an_image"),
    "noise.jpg": (random_bytes, "not_an_image"),
    "bomb.png": (huge_png_header, "too_many_pixels"),
    "dot.png": (one_pixel_png, "too_small"),
}

ACCEPTED: dict[str, Callable[[], bytes]] = {
    "photo.jpg": good_jpeg,
    "drawing.png": good_png,
    "web.webp": good_webp,
    "old.bmp": good_bmp,
    "scan.tiff": good_tiff,
    "still.gif": good_gif,
    "print.jpg": cmyk_jpeg,
    "deep.png": png_16bit,
    "sticker.png": palette_alpha_png,
    "dance.gif": animated_gif,
    "portrait.jpg": exif_rotated_jpeg,
    UNICODE_NAME: good_png,
}


# ---------------------------------------------------------------- ZIP archives


def zip_of(files: Mapping[str, bytes] | Iterable[tuple[str, bytes]], *, stored: bool = False) -> bytes:
    """Return a ZIP holding each (name, data) exactly as named (no path clean-up)."""
    items = files.items() if isinstance(files, Mapping) else files
    buf = io.BytesIO()
    method = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data in items:
            zf.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), data, compress_type=method)
    return buf.getvalue()


@dataclass(frozen=True)
class RawEntry:
    """One ZIP member written byte by byte, so sizes and attributes can lie."""

    name: str
    payload: bytes  # the bytes as they lie in the archive (already compressed)
    crc: int
    file_size: int  # what the headers claim the member unpacks to
    method: int = zipfile.ZIP_DEFLATED
    external_attr: int = 0
    flag_bits: int = 0x800  # UTF-8 names; add 0x1 to claim encryption


def raw_zip(entries: Iterable[RawEntry]) -> bytes:
    """Return a ZIP built by hand from entries whose headers say whatever they say."""
    out = io.BytesIO()
    central = []
    for e in entries:
        name = e.name.encode("utf-8")
        offset = out.tell()
        fields = (20, e.flag_bits, e.method, 0, 0x21, e.crc, len(e.payload), e.file_size, len(name), 0)
        out.write(b"PK\x03\x04" + struct.pack("<HHHHHIIIHH", *fields) + name + e.payload)
        entry = (e.flag_bits, e.method, 0, 0x21, e.crc, len(e.payload), e.file_size, len(name), 0, 0, 0, 0,
                 e.external_attr, offset)
        central.append(b"PK\x01\x02" + struct.pack("<HHHHHHIIIHHHHHII", 0x0314, 20, *entry) + name)
    cd_offset = out.tell()
    cd = b"".join(central)
    out.write(cd)
    n = len(central)
    out.write(b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, n, n, len(cd), cd_offset, 0))
    return out.getvalue()


@cache
def _zeros_deflate(size: int) -> tuple[bytes, int]:
    """Return (raw deflate stream, crc32) of `size` zero bytes, built in well under a second."""
    # A full flush leaves the stream byte-aligned with no back-references across it, so one
    # compressed MiB of zeros can simply be repeated: a valid stream without deflating 1 GiB.
    chunk = b"\0" * MiB
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = comp.compress(chunk) + comp.flush(zlib.Z_FULL_FLUSH)
    whole, rest = divmod(size, MiB)
    crc = 0
    for _ in range(whole):
        crc = zlib.crc32(chunk, crc)
    tail_comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    tail = tail_comp.compress(b"\0" * rest) + tail_comp.flush()
    crc = zlib.crc32(b"\0" * rest, crc)
    return block * whole + tail, crc


def zip_bomb(size: int = GiB, *, claimed_size: int | None = None, name: str = "cats/bomb.bmp") -> bytes:
    """Return a ZIP whose one member inflates to `size` zeros (1 GiB in ~1 MB); headers may claim another size."""
    payload, crc = _zeros_deflate(size)
    claimed = size if claimed_size is None else claimed_size
    return raw_zip([RawEntry(name, payload, crc, claimed)])


def traversal_zip() -> bytes:
    """Return a ZIP whose entries try to escape their folder, plus one honest image."""
    png = good_png(8, 8)
    names = ["../evil.png", "cats/../../x.png", "/abs.png", "c:\\x.png", "C:/y.png", "cats\\z.png",
             "cats/ok.png"]
    return zip_of([(n, png) for n in names])


def symlink_zip() -> bytes:
    """Return a ZIP holding a symlink named like an image, plus one honest image."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        link = zipfile.ZipInfo("cats/link.png", date_time=(2024, 1, 1, 0, 0, 0))
        link.create_system = 3  # Unix, so the mode bits in external_attr mean what they say
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "../../../etc/passwd")
        zf.writestr("cats/ok.png", good_png(8, 8))
    return buf.getvalue()


@cache
def many_entries_zip(n: int = 20_000) -> bytes:
    """Return a ZIP of `n` tiny stored members spread over 10 class folders."""
    return zip_of(((f"c{i % 10}/{i}.png", b"x") for i in range(n)), stored=True)


def broken_zip() -> bytes:
    """Return a ZIP cut off halfway, as an interrupted upload leaves it."""
    data = imagefolder_zip()
    return data[: len(data) // 2]


def corrupt_entry_zip() -> bytes:
    """Return a ZIP of three images where the middle one's stored bytes were damaged (bad CRC)."""
    files = {"cats/a.png": good_png(seed=1), "cats/b.png": good_png(seed=2), "dogs/c.png": good_png(seed=3)}
    data = zip_of(files, stored=True)
    start = data.index(b"cats/b.png") + len("cats/b.png") + 100  # inside b.png's bytes
    return data[:start] + bytes([data[start] ^ 0xFF]) + data[start + 1:]


def not_a_zip() -> bytes:
    return good_jpeg()


def imagefolder_zip() -> bytes:
    return zip_of({
        "cats/a.jpg": good_jpeg(seed=1), "cats/b.png": good_png(seed=2),
        "dogs/c.jpg": good_jpeg(seed=3), "dogs/d.webp": good_webp(),
    })


def mixed_zip() -> bytes:
    """Return a ZIP of good images with bad files between them."""
    return zip_of({
        "cats/good1.jpg": good_jpeg(seed=1),
        "cats/truncated.jpg": truncated_jpeg(),
        "cats/notes.jpg": text_file(),
        "dogs/login.png": html_page(),
        "dogs/good2.png": good_png(seed=2),
        "dogs/bomb.png": huge_png_header(),
        "dogs/good3.gif": animated_gif(),
    })


def macos_junk_zip() -> bytes:
    return zip_of({
        "cats/": b"",
        "cats/a.png": good_png(seed=1),
        "__MACOSX/cats/._a.png": b"\0\5\26\7 AppleDouble junk",
        "cats/.DS_Store": b"\0\0\0\1Bud1",
        ".DS_Store": b"\0\0\0\1Bud1",
        "cats/Thumbs.db": b"\xd0\xcf\x11\xe0",
        ".git/config": b"[core]\n",
    })


def nested_zip() -> bytes:
    return zip_of({
        "cats/a.png": good_png(seed=1),
        "more.zip": imagefolder_zip(),
        "cats/backup.tar.gz": b"\x1f\x8b\x08\0" + b"\0" * 16,
        "dogs/old.7z": b"7z\xbc\xaf\x27\x1c" + b"\0" * 16,
    })


def split_layout_zip() -> bytes:
    return zip_of({
        "train/cats/a.png": good_png(seed=1), "train/dogs/b.png": good_png(seed=2),
        "val/cats/c.png": good_png(seed=3), "test/dogs/d.png": good_png(seed=4),
    })


def csv_layout_zip(csv_text: str | None = None) -> bytes:
    csv_text = csv_text or "filename,label,split\na.png,cats,train\nb.png,dogs,val\nsub/c.png,cats,\n"
    return zip_of({
        "labels.csv": csv_text.encode("utf-8"),
        "a.png": good_png(seed=1), "b.png": good_png(seed=2), "sub/c.png": good_png(seed=3),
        "d.png": good_png(seed=4),
    })


def unicode_zip() -> bytes:
    """Return a ZIP whose class folder is written decomposed once and padded with spaces once."""
    return zip_of({
        f"{UNICODE_CLASS_NFD}/{UNICODE_NAME}": good_png(),
        f" {UNICODE_CLASS_NFC} /b.png": good_png(seed=2),
    })
