"""Plant near-duplicate copies, cross-split leakage and flipped labels in real images, and score detectors."""

from __future__ import annotations

import io
import random
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from PIL import Image

from training.data import SPLITS, stratified_split
from training.datacheck.groups import near_pairs
from training.datacheck.phash import phash

CROP = 96  # side of each distinct source crop, in pixels
MIN_STD = 24.0  # grey-level spread below which a tile counts as flat
KINDS = ("resize", "jpeg", "crop")


@dataclass(frozen=True)
class Score:
    """Recall and precision of found items against planted ones."""

    planted: int
    found: int
    recall: float
    precision: float


@dataclass
class Planted:
    """A dataset with planted problems; indices >= `originals` are the altered copies."""

    images: list[Image.Image]
    labels: list[int]  # as given, flips included
    true_labels: list[int]
    splits: list[str]
    originals: int
    copies: set[tuple[int, int]]  # (original, copy)
    leaks: set[tuple[int, int]]  # the copies placed in another split than their original
    flipped: set[int]


def distinct_crops(photos: list[np.ndarray], crop: int = CROP) -> list[Image.Image]:
    """Cut every photo into non-overlapping crop x crop tiles (distinct sources)."""
    tiles = []
    for photo in photos:
        img = Image.fromarray(photo).convert("RGB")
        for top in range(0, img.height - crop + 1, crop):
            for left in range(0, img.width - crop + 1, crop):
                tile = img.crop((left, top, left + crop, top + crop))
                # Flat tiles (sky, blank page) are true look-alikes of each other, not distinct sources.
                if np.asarray(tile.convert("L"), dtype=np.float32).std() >= MIN_STD:
                    tiles.append(tile)
    return tiles


def altered_copy(image: Image.Image, kind: str, rng: random.Random) -> Image.Image:
    """Return a resized, JPEG re-encoded or 5-10% cropped copy of an image (at least one pixel cropped)."""
    if kind == "resize":
        side = max(2, int(image.width * rng.uniform(0.5, 1.5)))
        return image.resize((side, side), Image.Resampling.BILINEAR)
    if kind == "jpeg":
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, format="JPEG", quality=rng.randint(30, 70))
        return Image.open(io.BytesIO(buffer.getvalue())).convert(image.mode)
    cut = max(1, int(image.width * rng.uniform(0.05, 0.10)))  # total crop, split over the two sides
    left, top = rng.randint(0, cut), rng.randint(0, cut)
    return image.crop((left, top, image.width - (cut - left), image.height - (cut - top)))


def plant(images: list[Image.Image], labels: list[int], *, copy_share: float = 0.05, cross_share: float = 0.5,
          flip_share: float = 0.05, num_classes: int | None = None, seed: int = 0) -> Planted:
    """Split stratified (70/15/15), copy `copy_share` of the images (kinds in turn, `cross_share` of the copies
    into another split), then flip `flip_share` of all labels to another class."""
    rng = random.Random(seed)
    n = len(images)
    num_classes = num_classes or max(labels) + 1
    splits = stratified_split(labels, ratios=(0.7, 0.15, 0.15), seed=seed)
    images, true_labels, splits = list(images), list(labels), list(splits)
    copies, leaks = set(), set()
    sources = rng.sample(range(n), max(1, round(n * copy_share)))
    crossing = set(rng.sample(range(len(sources)), round(len(sources) * cross_share)))
    for k, source in enumerate(sources):
        copy = len(images)
        images.append(altered_copy(images[source], KINDS[k % len(KINDS)], rng))
        true_labels.append(true_labels[source])
        if k in crossing:
            splits.append(rng.choice([s for s in SPLITS if s != splits[source]]))
            leaks.add((source, copy))
        else:
            splits.append(splits[source])
        copies.add((source, copy))
    given = list(true_labels)
    flipped = set(rng.sample(range(len(images)), round(len(images) * flip_share)))
    for i in flipped:
        given[i] = (given[i] + rng.randint(1, num_classes - 1)) % num_classes
    return Planted(images=images, labels=given, true_labels=true_labels, splits=splits, originals=n,
                   copies=copies, leaks=leaks, flipped=flipped)


def score(found: Iterable, planted: set) -> Score:
    """Return recall and precision of `found` items against the `planted` set."""
    found = set(found)
    hits = len(found & planted)
    return Score(planted=len(planted), found=len(found), recall=hits / len(planted) if planted else 1.0,
                 precision=hits / len(found) if found else 1.0)


def plant_and_score(photos: list[np.ndarray], share: float, threshold: int, seed: int = 0) -> Score:
    """Copy `share` of the distinct crops with one alteration each and score whole-image hash pairs."""
    tiles = distinct_crops(photos)
    planted = plant(tiles, [0] * len(tiles), copy_share=share, flip_share=0.0, num_classes=1, seed=seed)
    return score(near_pairs([phash(im) for im in planted.images], threshold), planted.copies)
