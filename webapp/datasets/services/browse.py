"""The filters the image grid and the API's image list share: class, split, status, file name."""

from __future__ import annotations

from django.db.models import QuerySet

from webapp.core.ids import parse_id
from webapp.datasets.models import Dataset, Image, Split

STATUSES = ("labelled", "unlabelled")
UNLABELLED = "none"  # the class filter's value for images without a class


def filter_images(dataset: Dataset, *, label: str | int | None = None, split: str | None = None,
                  status: str | None = None, search: str | None = None) -> QuerySet[Image]:
    """Return the dataset's live images matching every filter given (empty values filter nothing)."""
    images = Image.objects.filter(dataset=dataset, deleted_at__isnull=True)
    return apply_filters(images, label=label, split=split, status=status, search=search)


def apply_filters(images: QuerySet[Image], *, label=None, split=None, status=None, search=None) -> QuerySet[Image]:
    """Return `images` narrowed by class id (or 'none'), split, labelled/unlabelled and file name."""
    if label not in (None, ""):
        if str(label) == UNLABELLED:
            images = images.filter(label__isnull=True)
        elif parse_id(label) is not None:
            images = images.filter(label_id=parse_id(label))
        else:
            raise ValueError(f"class must be a class id or '{UNLABELLED}'")
    if split:
        if split not in Split.values:
            raise ValueError(f"split must be one of {', '.join(Split.values)}")
        images = images.filter(split=split)
    if status:
        if status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}")
        images = images.filter(label__isnull=(status == "unlabelled"))
    if search and search.strip():
        images = images.filter(original_name__icontains=search.strip())
    return images.select_related("label").order_by("-created_at", "-id")
