"""What a user may see of datasets: the rows a page or endpoint acts on, anything else a 404 (never a 403)."""

from django.http import Http404

from webapp.core.ownership import get_visible_or_404
from webapp.datasets.models import Dataset, DatasetClass, Image


def dataset_for(user, pk) -> Dataset:
    """Return the dataset `pk` if `user` (or a teammate) owns it; raise Http404 otherwise."""
    return get_visible_or_404(Dataset, user, pk=pk)


def live_images(dataset):
    """Return the dataset's images that are not deleted."""
    return Image.objects.filter(dataset=dataset, deleted_at__isnull=True)


def image_for(dataset, image_pk, *, include_deleted=False) -> Image:
    """Return one image of `dataset`, or raise Http404."""
    images = Image.objects.filter(dataset=dataset) if include_deleted else live_images(dataset)
    try:
        return images.select_related("label").get(pk=image_pk)
    except (Image.DoesNotExist, ValueError):
        raise Http404("No such image.") from None


def class_for(dataset, class_pk) -> DatasetClass:
    """Return one class of `dataset`, or raise Http404."""
    try:
        return dataset.classes.get(pk=class_pk)
    except (DatasetClass.DoesNotExist, ValueError):
        raise Http404("No such class.") from None
