"""Plant near-duplicate copies among distinct photo crops and measure a detector on them."""

from __future__ import annotations

import io
import random
from dataclasses import dataclass

import numpy as np
from PIL import Image

from training.datacheck.groups import near_pairs
from training.datacheck.phash import phash

CROP = 96  # side of each distinct source crop, in pixels
MIN_STD = 24.0  # grey-level spread below which a tile counts as flat


@dataclass(frozen=True)
class Score:
    """Recall and precision of found pairs against planted pairs."""

    planted: int
    found: int
    recall: float
    precision: float


def distinct_crops(photos: list[np.ndarray]) -> list[Image.Image]:
    """Cut every photo into non-overlapping CROP x CROP tiles (distinct sources)."""
    tiles = []
    for photo in photos:
        img = Image.fromarray(photo).convert("RGB")
        for top in range(0, img.height - CROP + 1, CROP):
            for left in range(0, img.width - CROP + 1, CROP):
                tile = img.crop((left, top, left + CROP, top + CROP))
                # Flat tiles (sky, blank page) are true look-alikes of each other, not distinct sources.
                if np.asarray(tile.convert("L"), dtype=np.float32).std() >= MIN_STD:
                    tiles.append(tile)
    return tiles


def altered_copy(image: Image.Image, kind: str, rng: random.Random) -> Image.Image:
    """Return a resized, JPEG re-encoded or 5-10% cropped copy of an image."""
    if kind == "resize":
        side = int(image.width * rng.uniform(0.5, 1.5))
        return image.resize((side, side), Image.Resampling.BILINEAR)
    if kind == "jpeg":
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=rng.randint(30, 70))
        return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    cut = int(image.width * rng.uniform(0.05, 0.10))  # total crop, split over the two sides
    left, top = rng.randint(0, cut), rng.randint(0, cut)
    return image.crop((left, top, image.width - (cut - left), image.height - (cut - top)))


def plant_and_score(
    photos: list[np.ndarray], share: float, threshold: int, seed: int = 0
) -> Score:
    """Copy `share` of the distinct crops with one alteration each and score hash-distance pairs."""
    rng = random.Random(seed)
    images = distinct_crops(photos)
    sources = rng.sample(range(len(images)), max(1, int(len(images) * share)))
    planted = set()
    for n, source in enumerate(sources):
        kind = ("resize", "jpeg", "crop")[n % 3]
        planted.add((source, len(images)))
        images.append(altered_copy(images[source], kind, rng))
    found = set(near_pairs([phash(im) for im in images], threshold))
    hits = len(found & planted)
    return Score(
        planted=len(planted),
        found=len(found),
        recall=hits / len(planted),
        precision=hits / len(found) if found else 1.0,
    )
