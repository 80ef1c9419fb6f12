"""Near-duplicate groups and leakage across splits, from the hashes stored on image rows."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from django.core.cache import cache

from training.datacheck.groups import group_pairs, leaking_pairs, near_pairs
from webapp.core.errors import FieldError
from webapp.datachecks.models import DataCheck
from webapp.datasets.models import DatasetVersion, Image, Split, VersionEntry

# bench/data_checks.py, whole-image baseline: at 12 bits it finds 0.89 of planted copies at 0.86 precision.
DEFAULT_THRESHOLD = 12
MAX_THRESHOLD = 20
REPORT_CACHE_S = 3600
ASSIGNED = (Split.TRAIN.value, Split.VAL.value, Split.TEST.value)
# (the split a copy makes look better, the split it was learnt from) -> the words for it.
LEAKS = {
    "test_in_train": ("test", "train", "test accuracy will look better than it is"),
    "val_in_train": ("val", "train", "validation accuracy will look better than it is, and the best epoch is "
                                     "picked on it"),
    "test_in_val": ("test", "val", "the model was picked on copies of its test images"),
}
_SPLIT_WORDS = {"train": "train", "val": "validation", "test": "test"}


def parse_threshold(value, *, field_name: str = "threshold") -> int:
    """Return the hash-distance threshold `value` spells (blank: the default); raise FieldError otherwise."""
    if value is None or str(value).strip() == "":
        return DEFAULT_THRESHOLD
    text = str(value).strip()
    if not (text.isascii() and text.lstrip("-").isdigit()) or len(text) > 4:
        raise FieldError(f"The threshold is a whole number of bits from 0 to {MAX_THRESHOLD}, not “{text[:20]}”.",
                         field_name)
    number = int(text)
    if not 0 <= number <= MAX_THRESHOLD:
        raise FieldError(f"The threshold must be from 0 to {MAX_THRESHOLD} bits (0: identical hashes only), "
                         f"not {number}.", field_name)
    return number


@dataclass
class Report:
    """Near-duplicate groups of a set of images and the pairs of them that cross splits."""

    threshold: int
    images: int  # images looked at
    unhashed: int  # of those, images with no hash yet (not compared)
    groups: list[list[int]]  # image ids, largest group first
    leaks: list[tuple[int, int]]  # near-duplicate pairs in two different assigned splits
    split_of: dict[int, str] = field(default_factory=dict, repr=False)

    def leak_counts(self) -> dict[str, int]:
        """Return, per kind of leak, how many images of the evaluated split have a near-copy in the other."""
        found: dict[str, set[int]] = {key: set() for key in LEAKS}
        for a, b in self.leaks:
            for key, (evaluated, learnt) in ((k, v[:2]) for k, v in LEAKS.items()):
                if self.split_of[a] == evaluated and self.split_of[b] == learnt:
                    found[key].add(a)
                elif self.split_of[b] == evaluated and self.split_of[a] == learnt:
                    found[key].add(b)
        return {key: len(ids) for key, ids in found.items()}

    def leaking_group_ids(self) -> set[int]:
        """Return the image ids of groups that hold a leaking pair."""
        leaking = {a for pair in self.leaks for a in pair}
        return {i for group in self.groups if leaking.intersection(group) for i in group}

    def counts(self) -> dict:
        """Return the numbers a check row keeps and pages show."""
        return {"images": self.images, "hashed": self.images - self.unhashed, "unhashed": self.unhashed,
                "groups": len(self.groups), "in_groups": sum(len(g) for g in self.groups),
                "leaking_pairs": len(self.leaks), "leaks": self.leak_counts()}

    def results(self) -> dict:
        """Return the findings compactly: image ids only."""
        return {"groups": self.groups, "leaks": [list(pair) for pair in self.leaks]}


def warnings(counts: dict) -> list[str]:
    """Return one sentence per kind of leak in a check's counts, worst first."""
    out = []
    for key, (evaluated, learnt, consequence) in LEAKS.items():
        n = (counts.get("leaks") or {}).get(key, 0)
        if n:
            out.append(f"{n} {_SPLIT_WORDS[evaluated]} image{'s' if n != 1 else ''} "
                       f"{'have' if n != 1 else 'has'} a near-copy in {_SPLIT_WORDS[learnt]}: {consequence}.")
    return out


def report_from_rows(rows, threshold: int) -> Report:
    """Return the report of (image id, signed hash or None, split) rows (cached: the same rows give the same)."""
    rows = list(rows)
    # The pair search is quadratic (10,000 images: about a second of BLAS, several under load), and the health
    # card, the freeze form and the launch form all ask: key the answer by exactly what it was computed from.
    key = f"datachecks:report:{threshold}:{hashlib.sha256(repr(rows).encode()).hexdigest()}"
    found = cache.get(key)
    if found is None:
        found = _compute(rows, threshold)
        cache.set(key, found, REPORT_CACHE_S)
    return found


def _compute(rows: list, threshold: int) -> Report:
    hashed = [(pk, h, split) for pk, h, split in rows if h is not None]
    pairs = near_pairs([h for _, h, _ in hashed], threshold)
    ids = [pk for pk, _, _ in hashed]
    split_of = {i: split for i, (_, _, split) in enumerate(hashed)}
    assigned = {i: s for i, s in split_of.items() if s in ASSIGNED}
    # Only images in train, val or test leak: an unassigned image is in no version.
    crossing = leaking_pairs([(a, b) for a, b in pairs if a in assigned and b in assigned], assigned)
    groups = [[ids[i] for i in group] for group in group_pairs(len(hashed), pairs)]
    return Report(threshold=threshold, images=len(rows), unhashed=len(rows) - len(hashed), groups=groups,
                  leaks=[(ids[a], ids[b]) for a, b in crossing],
                  split_of={ids[i]: s for i, s in split_of.items()})


def dataset_report(dataset, threshold: int = DEFAULT_THRESHOLD) -> Report:
    """Return the near-duplicates of the dataset's live images as they are split now."""
    # Every change to the images moves the dataset's revision, and hashes are filled in only by a check (whose
    # row then changes): a page showing the report (the health card) costs one cache read and one indexed row,
    # not a read of every image. The key comes from the database, so every web process agrees on it.
    check = DataCheck.objects.filter(dataset=dataset).order_by("-pk").values_list("pk", "status").first()
    stamp = dataset.updated_at.timestamp() if dataset.updated_at else 0
    key = f"datachecks:dataset:{dataset.pk}:{dataset.revision}:{stamp}:{check}:{threshold}"
    found = cache.get(key)
    if found is None:
        rows = Image.objects.filter(dataset=dataset, deleted_at__isnull=True).order_by("pk").values_list(
            "pk", "phash", "split")
        found = report_from_rows(rows, threshold)
        cache.set(key, found, REPORT_CACHE_S)
    return found


def version_report(version: DatasetVersion, threshold: int = DEFAULT_THRESHOLD) -> Report:
    """Return the near-duplicates of a frozen version's images, in the splits the version froze."""
    rows = VersionEntry.objects.filter(version=version).order_by("image_id").values_list(
        "image_id", "image__phash", "split")
    return report_from_rows(rows, threshold)
