"""Image files and thumbnails, streamed from storage only to people who may see their dataset."""

from django.views.decorators.http import require_GET

from webapp.core.files import stream_image
from webapp.datasets.services.access import dataset_for, image_for


@require_GET
def image_file(request, pk, image_pk):
    """Stream the image's stored file (deleted images too: frozen versions still show them)."""
    image = image_for(dataset_for(request.user, pk), image_pk, include_deleted=True)
    return stream_image(image.file.name)


@require_GET
def image_thumbnail(request, pk, image_pk):
    """Stream the image's small WebP thumbnail, or the image itself when no thumbnail was made."""
    image = image_for(dataset_for(request.user, pk), image_pk, include_deleted=True)
    return stream_image((image.thumbnail or image.file).name)
