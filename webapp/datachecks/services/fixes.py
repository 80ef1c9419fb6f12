"""One-click fixes of a near-duplicate group: move it into one split, or keep one image and delete the rest."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.core.exceptions import ValidationError
from django.db import transaction

from webapp.core.errors import FieldError
from webapp.core.ids import parse_id
from webapp.datachecks.services.duplicates import ASSIGNED
from webapp.datasets.models import Dataset, Image
from webapp.datasets.services import bulk

MAX_GROUP = 500


class GroupChanged(FieldError):
    """The group is no longer as the page showed it: an image was deleted or moved meanwhile."""

    status = 409


def parse_ids(values: Iterable, field: str = "images") -> list[int]:
    """Return the distinct image ids of a group (2 to MAX_GROUP); raise FieldError naming `field` otherwise."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise FieldError("Give the group's image ids as a list of whole numbers.", field)
    values = list(values)
    if len(values) > MAX_GROUP:
        raise FieldError(f"A group holds at most {MAX_GROUP} images.", field)
    ids = [parse_id(v) for v in values]
    bad = next((v for v, i in zip(values, ids, strict=True) if i is None), None)
    if bad is not None:
        raise FieldError(f"“{str(bad)[:20]}” is not an image id.", field)
    ids = sorted(set(ids))
    if len(ids) < 2:
        raise FieldError("A group has at least two images.", field)
    return ids


def move_group(dataset: Dataset, image_ids: Iterable, split: str, *,
               expected: Mapping[int, str] | None = None) -> str:
    """Put every image of the group in `split`; return what was done, for a person."""
    if split not in ASSIGNED:
        raise FieldError(f"Choose one of {', '.join(ASSIGNED)} to move the group into.", "split")
    with transaction.atomic():
        images = _group(dataset, parse_ids(image_ids), expected)
        if all(img.split == split for img in images):
            raise GroupChanged(f"All {len(images)} images are already in {split}; nothing was changed.")
        moved = bulk.move_to_split(dataset, [img.pk for img in images if img.split != split], split)
    return (f"Moved {moved} image{'s' if moved != 1 else ''} to {split}: "
            f"the {len(images)} near-copies now sit in one split.")


def keep_one(dataset: Dataset, image_ids: Iterable, keep, *, expected: Mapping[int, str] | None = None) -> str:
    """Keep image `keep` of the group and delete the others (hidden only where a version uses them)."""
    keep_id = parse_id(keep)
    ids = parse_ids(image_ids)
    if keep_id is None or keep_id not in ids:
        raise FieldError("Choose the image to keep from this group.", "keep")
    with transaction.atomic():
        images = _group(dataset, ids, expected)
        try:
            gone = bulk.delete_images(dataset, [img.pk for img in images if img.pk != keep_id])
        except ValidationError as exc:
            raise FieldError(" ".join(exc.messages), "images") from None
    return (f"Kept image {keep_id} and deleted {gone} near-cop{'ies' if gone != 1 else 'y'} of it "
            "(images a version uses stay in that version).")


def parse_expected(text: str) -> dict[int, str]:
    """Read a page's “id:split,id:split” note of the group as it was shown; raise FieldError when garbled."""
    out: dict[int, str] = {}
    for part in filter(None, (text or "").split(",")):
        pk, _, split = part.partition(":")
        if parse_id(pk) is None or split not in ASSIGNED + ("unassigned",):
            raise FieldError("The group's state is garbled; reload the page.", "state")
        out[parse_id(pk)] = split
    return out


def _group(dataset: Dataset, ids: list[int], expected: Mapping[int, str] | None) -> list[Image]:
    """Return the group's live images, locked; raise GroupChanged if one is gone or moved since it was shown."""
    images = list(Image.objects.select_for_update().filter(dataset=dataset, pk__in=ids, deleted_at__isnull=True)
                  .order_by("pk"))
    gone = sorted(set(ids) - {img.pk for img in images})
    if gone:
        raise GroupChanged(f"Image{'s' if len(gone) > 1 else ''} {', '.join(map(str, gone))} "
                           f"{'were' if len(gone) > 1 else 'was'} deleted or {'are' if len(gone) > 1 else 'is'} "
                           "not in this dataset; nothing was changed. Reload the page to see the group as it is now.")
    moved = [img for img in images if expected and img.pk in expected and expected[img.pk] != img.split]
    if moved:
        img = moved[0]
        raise GroupChanged(f"Image {img.pk} was moved to {img.split} since the page was shown; nothing was changed. "
                           "Reload the page to see the group as it is now.")
    return images
