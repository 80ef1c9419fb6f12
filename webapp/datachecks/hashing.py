"""Compute the stored perceptual hashes of an image file's bytes (no database: ingest threads call it)."""

from __future__ import annotations

import io

from PIL import Image as PILImage

from training.datacheck.phash import as_signed, crop_hashes, phash

_SIDE = 64  # the hash reads a 32x32 grey copy: decode and shrink no further than twice that first
_ORIENTATION = 0x0112
_TRANSPOSE = {2: PILImage.Transpose.FLIP_LEFT_RIGHT, 3: PILImage.Transpose.ROTATE_180,
              4: PILImage.Transpose.FLIP_TOP_BOTTOM, 5: PILImage.Transpose.TRANSPOSE,
              6: PILImage.Transpose.ROTATE_270, 7: PILImage.Transpose.TRANSVERSE, 8: PILImage.Transpose.ROTATE_90}
CROP_BYTES = 8  # one unsigned 64-bit crop hash, big-endian, in Image.phash_crops


def grey_of(raw: bytes) -> PILImage.Image | None:
    """Return the image as the hashes see it (grey, upright, shrunk to about 64-128 px), or None if unreadable."""
    try:
        with PILImage.open(io.BytesIO(raw)) as im:
            try:
                orientation = im.getexif().get(_ORIENTATION, 1)
            except Exception:  # noqa: BLE001 - damaged EXIF: hash it as stored
                orientation = 1
            if im.format == "JPEG":
                im.draft("RGB", (_SIDE, _SIDE))  # libjpeg decodes a large JPEG at 1/2..1/8 scale
            grey = im.convert("L")
        # A box reduction first: LANCZOS over a full-size PNG costs more than decoding it (1024 px: 180 -> 20 ms).
        factor = min(grey.size) // _SIDE
        if factor >= 2:
            grey = grey.reduce(factor)
        if orientation in _TRANSPOSE:
            grey = grey.transpose(_TRANSPOSE[orientation])  # hash what a person sees, as thumbnails show it
        return grey
    except Exception:  # noqa: BLE001 - a file Pillow cannot decode again has no hash; the check says so
        return None


def phash_of(raw: bytes) -> int | None:
    """Return the signed 64-bit pHash of an image file (as Image.phash stores it), or None if it cannot be read."""
    return hashes_of(raw)[0]


def hashes_of(raw: bytes) -> tuple[int | None, bytes | None]:
    """Return (Image.phash, Image.phash_crops) of an image file: its pHash and its 9 crop hashes, or Nones."""
    grey = grey_of(raw)
    if grey is None:
        return None, None
    # The crops of the shrunk copy: 9 more 32x32 hashes of a <= 128 px image cost about a millisecond.
    return as_signed(phash(grey)), pack_crops(crop_hashes(grey))


def pack_crops(values: list[int]) -> bytes:
    """Return unsigned 64-bit hashes as the bytes Image.phash_crops stores (8 each, big-endian)."""
    return b"".join(v.to_bytes(CROP_BYTES, "big") for v in values)


def unpack_crops(stored) -> list[int]:
    """Return the hashes of Image.phash_crops bytes (bytes or the memoryview PostgreSQL gives)."""
    data = bytes(stored)
    return [int.from_bytes(data[i:i + CROP_BYTES], "big") for i in range(0, len(data), CROP_BYTES)]
