"""The numbers behind a dataset's health panel: balance, coverage of each split, sizes, import problems."""

from __future__ import annotations

from collections import defaultdict

from django.core.cache import cache
from django.db.models import Count, Q, Sum

from webapp.datasets.models import Dataset, DatasetClass, Import, ImportItem, Split
from webapp.datasets.services.tally import read_tally

IMBALANCE_WARNING_RATIO = 10.0  # largest class / smallest class
# Fewer images than this in a split and a class cannot be learned (train) or measured (val, test).
MIN_PER_SPLIT = {Split.TRAIN: 5, Split.VAL: 2, Split.TEST: 2}
SPLITS = (Split.TRAIN, Split.VAL, Split.TEST, Split.UNASSIGNED)
RECENT_CONFLICTS = 20


def dataset_health(dataset: Dataset) -> dict:
    """Return the health numbers; image numbers are recomputed only when the dataset's revision changed."""
    revision, updated_at = Dataset.objects.filter(pk=dataset.pk).values_list("revision", "updated_at").first()
    # updated_at too: a dataset deleted and made again under a reused id starts again at revision 0.
    key = f"datasets:health:{dataset.pk}:{revision}:{updated_at.timestamp()}"
    images = cache.get(key)
    if images is None:
        images = _image_health(dataset)
        cache.set(key, images, timeout=24 * 3600)
    health = {"revision": revision, **images, "imports": _import_health(dataset)}
    health["warnings"] = _warnings(health)
    return health


def count_matching(dataset: Dataset, *, label=None, split=None, status=None) -> int:
    """Return how many live images have the class id (or 'none'), split and labelled/unlabelled status given,
    from the cached health numbers: no page counts a dataset's images row by row."""
    health = dataset_health(dataset)
    rows = [(c["id"], c["per_split"]) for c in health["classes"]] + [(None, health["unlabelled_per_split"])]
    if label not in (None, ""):
        wanted = None if str(label) == "none" else int(label)
        rows = [r for r in rows if r[0] == wanted]
    if status:
        rows = [r for r in rows if (r[0] is None) == (status == "unlabelled")]
    return sum(per_split[split] if split else sum(per_split.values()) for _, per_split in rows)


def _image_health(dataset: Dataset) -> dict:
    # The tally the database keeps (services/tally.py): a few rows per class and split, one per distinct
    # width and height, never one per image.
    tally = read_tally(dataset.pk)
    per_class_split: dict[int | None, dict[str, int]] = defaultdict(lambda: {s: 0 for s in SPLITS})
    for (label_id, split), n in tally.per_class_split.items():
        per_class_split[label_id][split] += n
    widths, heights = tally.widths, tally.heights
    classes = []
    for cls in DatasetClass.objects.filter(dataset=dataset).order_by("position", "pk"):
        counts = per_class_split.get(cls.pk, {s: 0 for s in SPLITS})
        classes.append({"id": cls.pk, "name": cls.name, "count": sum(counts.values()), "per_split": counts})
    unlabelled = per_class_split.get(None, {s: 0 for s in SPLITS})
    per_split = {s: sum(c[s] for c in per_class_split.values()) for s in SPLITS}
    return {
        "total": sum(per_split.values()),
        "labelled": sum(c["count"] for c in classes),
        "unlabelled": sum(unlabelled.values()),
        "unassigned": per_split[Split.UNASSIGNED],
        "per_split": per_split,
        "classes": classes,
        "unlabelled_per_split": unlabelled,
        "imbalance": _imbalance(classes),
        "too_few": _too_few(classes, per_split),
        "sizes": {"width": _spread(widths), "height": _spread(heights)},
    }


def _imbalance(classes: list[dict]) -> dict:
    counted = [c for c in classes if c["count"] > 0]
    if len(counted) < 2:
        return {"ratio": None, "largest": None, "smallest": None, "threshold": IMBALANCE_WARNING_RATIO,
                "warning": False}
    largest = max(counted, key=lambda c: c["count"])
    smallest = min(counted, key=lambda c: c["count"])
    ratio = largest["count"] / smallest["count"]
    return {"ratio": round(ratio, 2), "largest": largest["name"], "smallest": smallest["name"],
            "threshold": IMBALANCE_WARNING_RATIO, "warning": ratio > IMBALANCE_WARNING_RATIO}


def _too_few(classes: list[dict], per_split: dict[str, int]) -> list[dict]:
    """Return the (class, split) pairs below the minimum, for splits the dataset uses."""
    found = []
    for cls in classes:
        for split, minimum in MIN_PER_SPLIT.items():
            count = cls["per_split"][split]
            if per_split[split] and count < minimum:
                found.append({"class": cls["name"], "class_id": cls["id"], "split": str(split), "count": count,
                              "minimum": minimum})
    return found


def _spread(histogram: dict[int, int]) -> dict:
    """Return min, median and max of the values a {value: how many} histogram counts."""
    if not histogram:
        return {"min": None, "median": None, "max": None}
    values = sorted(histogram)
    total = sum(histogram.values())

    def nth(k: int) -> int:  # the k-th value (0-based) in sorted order
        seen = 0
        for value in values:
            seen += histogram[value]
            if k < seen:
                return value
        return values[-1]

    middle = nth(total // 2) if total % 2 else (nth(total // 2 - 1) + nth(total // 2)) / 2
    return {"min": values[0], "median": middle, "max": values[-1]}


def _import_health(dataset: Dataset) -> dict:
    sums = Import.objects.filter(dataset=dataset).aggregate(
        rejected=Sum("rejected"), duplicates=Sum("duplicates"), conflicts=Sum("conflicts"), skipped=Sum("skipped"),
        running=Count("pk", filter=Q(status__in=["queued", "running"])))
    conflicts = (ImportItem.objects.filter(source_import__dataset=dataset, outcome=ImportItem.Outcome.CONFLICT)
                 .order_by("-pk").values("name", "message", "image_id", "source_import_id")[:RECENT_CONFLICTS])
    return {**{k: v or 0 for k, v in sums.items()}, "recent_conflicts": list(conflicts)}


def _warnings(health: dict) -> list[str]:
    """Return the problems worth a person's attention, as sentences."""
    warnings = []
    if not health["total"]:
        return ["The dataset has no images yet."]
    imbalance = health["imbalance"]
    if imbalance["warning"]:
        warnings.append(f"Classes are imbalanced: '{imbalance['largest']}' has {imbalance['ratio']:g} times as "
                        f"many images as '{imbalance['smallest']}'.")
    for split, what in ((Split.TRAIN, "train on"), (Split.VAL, "validate on"), (Split.TEST, "test on")):
        if not health["per_split"][split]:
            warnings.append(f"No image is in the {split} split: there is nothing to {what}.")
    for item in health["too_few"]:
        warnings.append(f"'{item['class']}' has {item['count']} image{'s' * (item['count'] != 1)} in {item['split']}; "
                        f"at least {item['minimum']} are needed.")
    if health["unlabelled"]:
        warnings.append(f"{health['unlabelled']} image{'s are' if health['unlabelled'] != 1 else ' is'} unlabelled "
                        f"and will be left out of versions.")
    labelled_unassigned = health["unassigned"] - health["unlabelled_per_split"][Split.UNASSIGNED]
    if labelled_unassigned:
        warnings.append(f"{labelled_unassigned} labelled image{'s have' if labelled_unassigned != 1 else ' has'} "
                        f"no split and will be left out of versions.")
    if health["imports"]["conflicts"]:
        warnings.append(f"{health['imports']['conflicts']} imported file(s) had the same bytes as an image in "
                        f"another class (label conflicts).")
    return warnings
