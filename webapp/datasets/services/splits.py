"""Assign images to train/val/test: stratified per class, the same split for the same seed."""

from __future__ import annotations

import math
import random
from collections import defaultdict

from django.core.exceptions import ValidationError
from django.db import transaction

from webapp.datasets.models import Dataset, Image, Split

SPLITS = (Split.TRAIN, Split.VAL, Split.TEST)
_CHUNK = 900


def auto_split(dataset: Dataset, *, train: float, val: float, test: float, seed: int,
               only_unassigned: bool = False) -> dict:
    """Split each class's images by the ratios (shuffled by `seed`); return counts per split."""
    ratios = _ratios(train, val, test)
    images = Image.objects.filter(dataset=dataset, deleted_at__isnull=True)
    if only_unassigned:
        images = images.filter(split=Split.UNASSIGNED)
    groups: dict[int | None, list[int]] = defaultdict(list)
    for pk, label_id in images.order_by("pk").values_list("pk", "label_id"):
        groups[label_id].append(pk)
    chosen: dict[str, list[int]] = {s: [] for s in SPLITS}
    for label_id, ids in groups.items():
        # One generator per class: adding images to one class never reshuffles another.
        random.Random(f"{seed}:{label_id}").shuffle(ids)
        start = 0
        for split, size in zip(SPLITS, allocate(len(ids), ratios), strict=True):
            chosen[split].extend(ids[start:start + size])
            start += size
    with transaction.atomic():
        for split, ids in chosen.items():
            for at in range(0, len(ids), _CHUNK):
                Image.objects.filter(pk__in=ids[at:at + _CHUNK]).update(split=split)
        if groups:
            dataset.touch()
    counts = {str(split): len(ids) for split, ids in chosen.items()}
    return {**counts, "images": sum(counts.values()), "groups": len(groups)}


def allocate(n: int, ratios: tuple[float, ...]) -> list[int]:
    """Return how many of `n` items each ratio gets (largest remainder; every used split gets one if it can)."""
    exact = [n * r for r in ratios]
    sizes = [math.floor(x) for x in exact]
    by_remainder = sorted(range(len(ratios)), key=lambda i: (-(exact[i] - sizes[i]), i))
    for i in by_remainder[: n - sum(sizes)]:
        sizes[i] += 1
    used = [i for i, r in enumerate(ratios) if r > 0]
    if n >= len(used):
        # A small class still gets an image to validate and test on, taken from the biggest share.
        for i in used:
            if sizes[i] == 0:
                donor = max(used, key=lambda j: sizes[j])
                sizes[donor] -= 1
                sizes[i] += 1
    return sizes


def _ratios(train: float, val: float, test: float) -> tuple[float, float, float]:
    try:
        values = tuple(float(x) for x in (train, val, test))
    except (TypeError, ValueError):
        raise ValidationError("Split ratios must be numbers.")
    if any(not math.isfinite(x) or x < 0 for x in values):
        raise ValidationError("Split ratios cannot be negative.")
    total = sum(values)
    if total <= 0:
        raise ValidationError("At least one split ratio must be above zero.")
    return tuple(x / total for x in values)  # 70/15/15 and 0.7/0.15/0.15 mean the same
