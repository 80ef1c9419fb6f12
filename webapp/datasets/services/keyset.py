"""Pages of images in browse order read by position (keyset), so a page costs the same at any depth or size."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from webapp.core.ids import parse_id
from webapp.datasets.models import Image

# A name search counts its matches up to here ("more than 100"): LIKE '%x%' reads rows until it has found them,
# so a bigger cap reads more rows (100 matches of a word in a tenth of the names: about 1,000 rows at any size).
COUNT_CAP = 100


@dataclass
class KeysetPage:
    """One page of images newest first, with the ids that anchor the pages either side of it."""

    object_list: list[Image]
    count: int  # the matches, or COUNT_CAP + 1 for "more than COUNT_CAP" when counted here
    after: int | None  # ?after= of the next page (None: this is the last)
    before: int | None  # ?before= of the previous page (None: this is the first)
    counted: bool = False  # the count was taken here, up to COUNT_CAP

    @property
    def count_capped(self) -> bool:
        return self.counted and self.count > COUNT_CAP

    @property
    def cap(self) -> int:
        return COUNT_CAP


def keyset_page(images: QuerySet[Image], size: int, *, after=None, before=None, count: int | None = None) -> KeysetPage:
    """Return the page of `images` (ordered -created_at, -id) after or before an image id; the first by default.

    `count` is the number of matches when the caller knows it (stored or cached counts); otherwise matches
    are counted up to COUNT_CAP. An anchor that is not one of `images` (deleted, garbage) gives the first page.
    """
    images = images.order_by("-created_at", "-id")
    if count is None:
        page = keyset_page(images, size, after=after, before=before, count=images.order_by()[:COUNT_CAP + 1].count())
        page.counted = True
        return page
    anchor_id = parse_id(before) if before not in (None, "") else parse_id(after) if after not in (None, "") else None
    anchor = images.filter(pk=anchor_id).values_list("created_at", "pk").first() if anchor_id else None
    if anchor is None:
        rows = list(images[:size + 1])
        return KeysetPage(rows[:size], count, rows[size - 1].pk if len(rows) > size else None, None)
    at, pk = anchor
    page = _before(images, size, at, pk, count) if before not in (None, "") else _after(images, size, at, pk, count)
    return page if page.object_list else keyset_page(images, size, count=count)


def _before(images: QuerySet[Image], size: int, at, pk: int, count: int) -> KeysetPage:
    # The `gte`/`lte` terms let the database seek the index to the anchor instead of scanning up to it.
    newer = images.filter(Q(created_at__gt=at) | Q(created_at=at, pk__gt=pk), created_at__gte=at)
    rows = list(newer.order_by("created_at", "id")[:size + 1])
    shown = rows[:size][::-1]
    return KeysetPage(shown, count, shown[-1].pk if shown else None, shown[0].pk if len(rows) > size else None)


def _after(images: QuerySet[Image], size: int, at, pk: int, count: int) -> KeysetPage:
    older = images.filter(Q(created_at__lt=at) | Q(created_at=at, pk__lt=pk), created_at__lte=at)
    rows = list(older[:size + 1])
    shown = rows[:size]
    return KeysetPage(shown, count, shown[-1].pk if len(rows) > size else None, shown[0].pk if shown else None)
