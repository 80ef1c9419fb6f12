"""Near-duplicate groups and leakage across splits, from the hashes stored on image rows.

Pairs are found by the crop-aware pHash (each image's whole hash against the other's whole hash and 9 crop
hashes, `training.datacheck.groups.near_pairs_cropped`), then confirmed on aligned thumbnails of the two files
(`training.datacheck.confirm`). The search costs about 5x the whole-hash one and the confirm opens files, so a
check job stores its confirmed pairs with their distance (up to at least the default threshold): a page at any
threshold up to that filters them, and searches only the images added since (against all).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from django.core.cache import cache

from training.datacheck.confirm import confirmed
from training.datacheck.groups import cropped_distances, group_pairs, leaking_pairs
from training.datacheck.phash import CROP_STEPS, as_unsigned
from webapp.core.errors import FieldError
from webapp.datachecks.hashing import unpack_crops
from webapp.datachecks.models import CheckKind, CheckStatus, DataCheck
from webapp.datachecks.services.hashes import stored_grey
from webapp.datasets.models import DatasetVersion, Image, Split, VersionEntry
from webapp.datasets.services.tally import read_tally

# bench/data_checks.py (photos, 5 seeds): the crop-aware pHash at 10 bits + confirm finds every planted copy at
# precision 1.00 (at 12 bits: 1.00 / 0.81, look-alikes get through); the whole-image pHash alone at 12 bits, used
# before, found 0.89 of them at 0.86 precision.
DEFAULT_THRESHOLD = 10
MAX_THRESHOLD = 20
REPORT_CACHE_S = 3600
# Above this many paired images a report reads every image instead (one IN list that long is not cheaper).
MAX_PAIRED_LOOKUP = 5000
# The most hash comparisons a page may make while it loads (searched images x hashed images): 5,000 images
# against each other, 0.4 s on a 2-core CPU. The search is quadratic (100,000 images: about two minutes), so
# beyond this a page shows what a check found and counts the rest as not compared yet; a check job compares all.
PAGE_SEARCH_LIMIT = 25_000_000
# Above this many hashed images a page does not compare the images added since the last check itself: that
# reads every image's hashes (100,000 images: about 0.5 s on a 2-core CPU). A check Lux starts once images are
# added (checks.compare_added) compares them with the others, and pages count them as not compared meanwhile.
INLINE_COMPARE_LIMIT = 5000
ASSIGNED = (Split.TRAIN.value, Split.VAL.value, Split.TEST.value)
# (the split a copy makes look better, the split it was learnt from) -> the words for it.
LEAKS = {
    "test_in_train": ("test", "train", "test accuracy will look better than it is"),
    "val_in_train": ("val", "train", "validation accuracy will look better than it is, and the best epoch is "
                                     "picked on it"),
    "test_in_val": ("test", "val", "the model was picked on copies of its test images"),
}
_SPLIT_WORDS = {"train": "train", "val": "validation", "test": "test"}
_CROPS = CROP_STEPS * CROP_STEPS


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
    pairs: dict[tuple[int, int], int] = field(default_factory=dict, repr=False)  # confirmed (id, id) -> bits
    uncompared: int = 0  # hashed images a page left to a check job: too many to search while it loads
    comparing: bool = False  # a check is queued or running that will compare them

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
                "uncompared": self.uncompared, "comparing": self.comparing,
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


def report_from_rows(rows, threshold: int, stored: dict | None = None, *,
                     limit: int | None = None) -> Report:
    """Return the report of (image id, signed hash or None, crop hash bytes or None, split) rows.

    `stored`: a check's `results` whose confirmed pairs (up to `pairs_upto` bits, every image up to id
    `last_image` compared) stand in for the search of those images. `limit`: the most comparisons to make
    (pages pass PAGE_SEARCH_LIMIT); the images a larger search would compare are counted as not compared yet.
    """
    rows = list(rows)
    usable = stored if stored and stored.get("pairs_upto", -1) >= threshold and "pairs" in stored else None
    # The pair search is quadratic (10,000 images: several seconds, more under load), and the health card, the
    # freeze form and the launch form all ask: key the pairs by exactly what they were computed from. Splits are
    # not in it (a pair is about two files), so moving images between splits costs a re-grouping, not a search;
    # the crop hashes follow from the file as the whole hash does: whether an image has them is enough.
    shape = [(pk, h, crops is not None) for pk, h, crops, _ in rows]
    source = (stored or {}).get("check")
    key = f"datachecks:pairs:{threshold}:{source}:{limit}:{hashlib.sha256(repr(shape).encode()).hexdigest()}"
    found = cache.get(key)
    if found is None:
        pairs, uncompared = _pairs(rows, threshold, usable, limit=limit)
        if usable is None and stored and "pairs" in stored:
            # Above the bits a check kept, the hashes are searched again; its pairs (all within fewer bits) still
            # count, among them the pixel pairs of tiny images that only a check job finds.
            live = {pk for pk, h, _, _ in rows if h is not None}
            for a, b, bits in stored["pairs"]:
                if a in live and b in live:
                    pairs.setdefault((a, b), bits)
        found = (pairs, uncompared)
        cache.set(key, found, REPORT_CACHE_S)
    pairs, uncompared = found
    report = build(rows, threshold, pairs)
    report.uncompared = uncompared
    return report


def search(rows, threshold: int, among: set[int] | None = None) -> dict[tuple[int, int], int]:
    """Return {(id, id): bits} of the confirmed near-copies among hashed rows (with one of `among`, if given)."""
    hashed = [(pk, h, crops) for pk, h, crops, _ in rows if h is not None]
    if not hashed or (among is not None and not among):
        return {}
    ids = [pk for pk, _, _ in hashed]
    # An image hashed before crop hashes were stored stands for itself only, until a check fills them in.
    # Unsigned, as unpacked crops are, so the few-against-all search takes them as 64-bit words in one step.
    crops = [unpack_crops(c) if c is not None else [as_unsigned(h)] * _CROPS for _, h, c in hashed]
    if any(len(c) != _CROPS for c in crops):
        crops = [c if len(c) == _CROPS else [c[0]] * _CROPS for c in crops]  # never expected: stay comparable
    wanted = None if among is None else [i for i, pk in enumerate(ids) if pk in among]
    near = cropped_distances([h for _, h, _ in hashed], crops, threshold, among=wanted)
    kept = confirmed(sorted(near), _opener(ids, {i for pair in near for i in pair}))
    return {(ids[a], ids[b]): near[(a, b)] for a, b in kept}


def _opener(ids: list[int], needed: set[int]):
    """Return image_of(index) for `confirm.confirmed`: the image's file as the hashes saw it, None if unreadable."""
    names = dict(Image.objects.filter(pk__in=[ids[i] for i in needed]).values_list("pk", "file"))
    return lambda index: stored_grey(names.get(ids[index]))


def _pairs(rows: list, threshold: int, stored: dict | None, *,
           limit: int | None = None) -> tuple[dict[tuple[int, int], int], int]:
    """Return the confirmed near pairs of rows within threshold (searched, or a check's plus the images added
    since) and how many images were left uncompared, their search being over `limit` comparisons."""
    hashed = [row for row in rows if row[1] is not None]
    if stored is None:
        if limit is not None and len(hashed) ** 2 > limit:
            return {}, len(hashed)
        return search(hashed, threshold), 0
    live = {pk for pk, _, _, _ in hashed}
    pairs = {(a, b): bits for a, b, bits in stored["pairs"] if bits <= threshold and a in live and b in live}
    # Images added since the check: only their pairs are searched (new x all), however large the dataset.
    added = {pk for pk in live if pk > stored.get("last_image", 0)}
    if limit is not None and len(added) * len(hashed) > limit:
        return pairs, len(added)
    pairs.update(search(hashed, threshold, among=added))
    return pairs, 0


def build(rows: list, threshold: int, pairs: dict[tuple[int, int], int]) -> Report:
    """Return the report of rows given their confirmed near pairs {(id, id): bits} (those within threshold count)."""
    hashed = [(pk, split) for pk, h, _, split in rows if h is not None]
    index = {pk: i for i, (pk, _) in enumerate(hashed)}
    within = {pair: bits for pair, bits in pairs.items() if bits <= threshold and pair[0] in index
              and pair[1] in index}
    near = sorted((index[a], index[b]) for a, b in within)
    ids = [pk for pk, _ in hashed]
    split_of = {i: split for i, (_, split) in enumerate(hashed)}
    assigned = {i: s for i, s in split_of.items() if s in ASSIGNED}
    # Only images in train, val or test leak: an unassigned image is in no version.
    crossing = leaking_pairs([(a, b) for a, b in near if a in assigned and b in assigned], assigned)
    groups = [[ids[i] for i in group] for group in group_pairs(len(hashed), near)]
    # Splits of the paired images only: nothing else reads them, and a report of 100,000 images is cached
    # and read back on every view (every image's split made each cached view of the dataset page 2x slower).
    paired = {i for pair in near for i in pair}
    return Report(threshold=threshold, images=len(rows), unhashed=len(rows) - len(hashed), groups=groups,
                  leaks=[(ids[a], ids[b]) for a, b in crossing],
                  split_of={ids[i]: split_of[i] for i in paired}, pairs=within)


def stored_pairs(pairs: dict[tuple[int, int], int], upto: int, rows: list, generation: int | None = None) -> dict:
    """Return what a check keeps of its search for pages to reuse: pairs with bits, their limit, the last id, and
    the dataset tally's generation read before the rows (live checks: see `added_since`)."""
    kept = {"pairs": [[a, b, bits] for (a, b), bits in sorted(pairs.items())], "pairs_upto": upto,
            "last_image": max((pk for pk, _, _, _ in rows), default=0)}
    return kept if generation is None else kept | {"generation": generation}


def check_fields(rows: list, threshold: int, stored: dict | None = None,
                 extra: dict[tuple[int, int], int] | None = None, *, generation: int | None = None) -> dict:
    """Search rows as a check does and return the check row's threshold, counts and results (pairs kept).

    `stored`: an earlier check's results to reuse as `report_from_rows` does (a version frozen after it, or an
    automatic check after an upload). `extra`: confirmed pairs {(id, id): bits} found otherwise (tiny images'
    pixels), kept with the searched ones. `generation`: the tally's, read before `rows` (live checks).
    """
    # Pairs are kept up to the default threshold at least, so the pages' default view reuses them too.
    upto = max(threshold, DEFAULT_THRESHOLD)
    usable = stored if stored and stored.get("pairs_upto", -1) >= upto and "pairs" in stored else None
    pairs, _ = _pairs(rows, upto, usable)  # a check job compares every image, however many
    hashed = {pk for pk, h, _, _ in rows if h is not None}  # a report counts hashed images only
    for (a, b), bits in (extra or {}).items():
        if a in hashed and b in hashed and bits <= upto:
            pairs[(a, b)] = min(bits, pairs.get((a, b), bits))
    report = build(rows, threshold, pairs)
    return {"threshold": threshold, "counts": report.counts(),
            "results": report.results() | stored_pairs(pairs, upto, rows, generation)}


def added_since(dataset_pk: int, stored: dict | None, tally) -> int | None:
    """Return how many live hashed images a live check's pairs leave out, if they are exactly the images stored
    after it (ids above its last); None when that is not known: an older check, or another image joined the hashed
    set since (a hash filled in, a transaction that took its id early and committed late).
    """
    joined = joined_since(stored, tally.generation)
    if not joined:  # None: not known; 0: nothing to count
        return joined
    added = Image.objects.filter(dataset_id=dataset_pk, pk__gt=stored.get("last_image", 0), deleted_at__isnull=True,
                                 phash__isnull=False).count()
    return added if added == joined else None


def joined_since(stored: dict | None, generation: int) -> int | None:
    """Return how many times an image joined the hashed live set since a live check read its rows (None: unknown).

    Every join moves the tally's generation by one, and the check read the generation before its rows: an image
    that joined before that read was in the rows. So if as many joined since as there are live hashed images above
    the check's last id, those are all that joined.
    """
    if not stored or "generation" not in stored or generation < stored["generation"]:
        return None
    return generation - stored["generation"]


def _latest_results(checks) -> dict | None:
    """Return the newest succeeded near-duplicate check's results (with its id under "check"), if any."""
    row = (checks.filter(kind=CheckKind.DUPLICATES, status=CheckStatus.SUCCEEDED).order_by("-pk")
           .values_list("pk", "results").first())
    return None if row is None else {**(row[1] or {}), "check": row[0]}


def dataset_rows(dataset) -> list:
    """Return (id, hash, crop hashes, split) of the dataset's live images, by id."""
    return list(Image.objects.filter(dataset=dataset, deleted_at__isnull=True).order_by("pk").values_list(
        "pk", "phash", "phash_crops", "split"))


def version_rows(version: DatasetVersion) -> list:
    """Return (id, hash, crop hashes, split) of a frozen version's images, in the splits it froze."""
    return list(VersionEntry.objects.filter(version=version).order_by("image_id").values_list(
        "image_id", "image__phash", "image__phash_crops", "split"))


def dataset_report(dataset, threshold: int = DEFAULT_THRESHOLD) -> Report:
    """Return the near-duplicates of the dataset's live images as they are split now."""
    # Every change to the images moves the dataset's revision, and hashes are filled in only by a check (whose
    # row then changes): a page showing the report (the health card) costs one cache read and one indexed row,
    # not a read of every image. The key comes from the database, so every web process agrees on it.
    check = DataCheck.objects.filter(dataset=dataset).order_by("-pk").values_list("pk", "status").first()
    stamp = dataset.updated_at.timestamp() if dataset.updated_at else 0
    seen = f"{check[0]}-{check[1]}" if check else "none"  # no spaces or quotes: a key memcached takes too
    key = f"datachecks:dataset:{dataset.pk}:{dataset.revision}:{stamp}:{seen}:{threshold}"
    found = cache.get(key)
    if found is None:
        # A check's pairs stay true after moves and deletions (a pair is about two files): only splits are re-read.
        stored = _latest_results(DataCheck.objects.filter(dataset=dataset, version__isnull=True))
        tally = read_tally(dataset.pk)
        # While no image has joined the live, hashed set since the pairs were found (the tally's generation),
        # the pairs of the images still there are the pairs: a relabel, a split move or a delete needs only the
        # paired images' rows, not a read of every image.
        created = dataset.created_at.timestamp() if dataset.created_at else 0
        pairs_key = (f"datachecks:live-pairs:{dataset.pk}:{created}:{seen}:{(stored or {}).get('check')}:"
                     f"{threshold}:{tally.generation}")
        known = cache.get(pairs_key)
        found = _report_of_pairs(dataset, threshold, *known, tally) if known is not None else None
        if found is None:
            found = _report_of_check(dataset, threshold, stored, tally)
        if found is None:
            found = report_from_rows(dataset_rows(dataset), threshold, stored, limit=PAGE_SEARCH_LIMIT)
            cache.set(pairs_key, (found.pairs, found.uncompared, tally.hashed), REPORT_CACHE_S)
        cache.set(key, found, REPORT_CACHE_S)
    return found


def _report_of_check(dataset, threshold: int, stored: dict | None, tally) -> Report | None:
    """Return the report of a live check's pairs, the images added since counted as not compared, or None.

    Nothing added: the check's pairs of the images still there are the pairs. Images added to a dataset of more
    than INLINE_COMPARE_LIMIT hashed images are left to the check Lux starts for them (None below that: the page
    compares them itself).
    """
    if stored is None or stored.get("pairs_upto", -1) < threshold or "pairs" not in stored:
        return None
    added = added_since(dataset.pk, stored, tally)
    if added is None or (added and tally.hashed <= INLINE_COMPARE_LIMIT):
        return None
    pairs = {(a, b): bits for a, b, bits in stored["pairs"] if bits <= threshold}
    report = _report_of_pairs(dataset, threshold, pairs, added, tally.hashed, tally)
    if report is not None and added:
        report.comparing = DataCheck.objects.filter(
            dataset=dataset, version__isnull=True, kind=CheckKind.DUPLICATES,
            status__in=(CheckStatus.QUEUED, CheckStatus.RUNNING)).exists()
    return report


def _report_of_pairs(dataset, threshold: int, pairs: dict[tuple[int, int], int], uncompared: int, hashed: int,
                     tally) -> Report | None:
    """Return the report of known pairs from the paired images' rows and the tally, or None to read every image.

    Pairs of images deleted since drop out (their rows are not read back); the count of images left
    uncompared is only known for the set it was counted in, so any change to that set means a full read.
    """
    ids = sorted({pk for pair in pairs for pk in pair})
    if len(ids) > MAX_PAIRED_LOOKUP or (uncompared and hashed != tally.hashed):
        return None
    rows = list(Image.objects.filter(pk__in=ids, dataset=dataset, deleted_at__isnull=True, phash__isnull=False)
                .order_by("pk").values_list("pk", "phash", "phash_crops", "split"))
    report = build(rows, threshold, pairs)
    report.images, report.unhashed = tally.images, tally.images - tally.hashed
    report.uncompared = uncompared
    return report


def version_report(version: DatasetVersion, threshold: int = DEFAULT_THRESHOLD) -> Report:
    """Return the near-duplicates of a frozen version's images, in the splits the version froze."""
    return report_from_rows(version_rows(version), threshold, version_results(version), limit=PAGE_SEARCH_LIMIT)


def version_results(version: DatasetVersion) -> dict | None:
    """Return the stored pairs a version's report can reuse: its own check's, else a live check's before it."""
    return _latest_results(DataCheck.objects.filter(version=version)) or results_before(version)


def results_before(version: DatasetVersion) -> dict | None:
    """Return the stored pairs of the last live check that finished before `version` was frozen, if any."""
    # That check compared every image the version took with an id up to its last one (images deleted before the
    # check were not in the freeze either).
    return _latest_results(DataCheck.objects.filter(dataset_id=version.dataset_id, version__isnull=True,
                                                    finished_at__lte=version.created_at))
