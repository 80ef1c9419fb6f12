"""Image files and thumbnails, streamed from storage only to people who may see their dataset."""

from django.core.files.storage import default_storage
from django.http import FileResponse, Http404
from django.views.decorators.http import require_GET

from webapp.datasets.views.lookup import dataset_for, image_for

# By stored extension (names are generated, so these are the only ones), not the system's mime.types.
CONTENT_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp", "bmp": "image/bmp",
                 "gif": "image/gif", "tif": "image/tiff"}
CACHE = "private, max-age=86400"  # an image row never changes its file, so its URLs may be cached


def _stream(field) -> FileResponse:
    if not field or not field.name:
        raise Http404("No file.")
    try:
        handle = default_storage.open(field.name, "rb")
    except (FileNotFoundError, OSError):
        raise Http404("The file is missing from storage.") from None
    content_type = CONTENT_TYPES.get(field.name.rpartition(".")[2].lower(), "application/octet-stream")
    response = FileResponse(handle, content_type=content_type)
    response["Cache-Control"] = CACHE
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_GET
def image_file(request, pk, image_pk):
    """Stream the image's stored file (deleted images too: frozen versions still show them)."""
    image = image_for(dataset_for(request, pk), image_pk, include_deleted=True)
    return _stream(image.file)


@require_GET
def image_thumbnail(request, pk, image_pk):
    """Stream the image's small WebP thumbnail, or the image itself when no thumbnail was made."""
    image = image_for(dataset_for(request, pk), image_pk, include_deleted=True)
    return _stream(image.thumbnail if image.thumbnail else image.file)
