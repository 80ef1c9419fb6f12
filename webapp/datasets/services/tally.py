"""Read the image tally the database keeps (models.ImageTally): a few rows per class, whatever the image count.

On PostgreSQL every statement that changes images adds signed delta rows; reading sums them per key, and
when the deltas outnumber the keys by far, folds them back into one row per key. The fold deletes the
rows it sums in the same statement that returns them (DELETE ... RETURNING), so a delta committed meanwhile
is either summed and deleted or left for the next read, never lost or counted twice.
"""

from __future__ import annotations

from collections import Counter
from typing import NamedTuple

from django.db import connection, transaction
from django.db.models import Count, Sum

from webapp.datasets.models import ImageTally

# Fold when the rows read are more than this many times the keys with images, plus a little.
FOLD_RATIO, FOLD_SLACK = 4, 64


class Tally(NamedTuple):
    """Live image counts of one dataset: per (class id or None, split), per width, per height, and hashed."""

    per_class_split: dict[tuple[int | None, str], int]
    widths: dict[int, int]
    heights: dict[int, int]
    hashed: int = 0  # images with a pHash (computed on upload, or by a data check for older ones)
    # Grows whenever an image joins the hashed live set: unchanged, the set has at most lost images since.
    generation: int = 0

    @property
    def images(self) -> int:
        return sum(self.per_class_split.values())


def read_tally(dataset_pk: int) -> Tally:
    """Return the dataset's live image counts (one grouped read of its tally rows)."""
    rows = list(ImageTally.objects.filter(dataset_pk=dataset_pk).order_by()
                .values_list("kind", "key", "split").annotate(total=Sum("n"), rows=Count("*")))
    # Deltas (PostgreSQL) or keys counted down to zero (SQLite: sizes and classes no image has any more).
    if sum(r[4] for r in rows) > FOLD_RATIO * sum(1 for r in rows if r[3]) + FOLD_SLACK:
        fold(dataset_pk)
    per_class_split, widths, heights, hashed, generation = {}, {}, {}, 0, 0
    for kind, key, split, total, _ in rows:
        if not total:
            continue
        if kind == ImageTally.CLASS_SPLIT:
            per_class_split[(key or None, split)] = total
        elif kind == ImageTally.HASHED:
            hashed = total
        elif kind == ImageTally.GENERATION:
            generation = total
        else:
            (widths if kind == ImageTally.WIDTH else heights)[key] = total
    return Tally(per_class_split, widths, heights, hashed, generation)


def fold(dataset_pk: int) -> int:
    """Replace the dataset's tally rows with one row per key (keys summing to zero go); return rows left."""
    sums: Counter = Counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {ImageTally._meta.db_table} WHERE dataset_pk = %s RETURNING kind, key, split, n",
                       [dataset_pk])
        for kind, key, split, n in cursor.fetchall():
            sums[kind, key, split] += n
        kept = [ImageTally(dataset_pk=dataset_pk, kind=kind, key=key, split=split, n=n)
                for (kind, key, split), n in sums.items() if n]
        ImageTally.objects.bulk_create(kept)
    return len(kept)
