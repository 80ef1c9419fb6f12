"""File helpers shared by the apps: checksums, and sending a private file to the one who asked for it."""

import hashlib
from pathlib import Path

from django.core.files.storage import default_storage
from django.http import FileResponse, Http404

from webapp.core.csp import HEADER, USER_FILE_POLICY

PNG = "image/png"
WEBP = "image/webp"
# By stored extension (names are generated, so these are the only ones), not the system's mime.types.
IMAGE_TYPES = {"jpg": "image/jpeg", "png": PNG, "webp": WEBP, "bmp": "image/bmp", "gif": "image/gif",
               "tif": "image/tiff"}


def file_sha256(path: Path) -> str:
    """Return the hex SHA-256 of a file, read in blocks."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def image_type(name: str) -> str:
    """Return the content type of a stored image by its extension (application/octet-stream if unknown)."""
    return IMAGE_TYPES.get(name.rpartition(".")[2].lower(), "application/octet-stream")


def stream_file(name: str, content_type: str, *, max_age: int = 3600) -> FileResponse:
    """Return a private storage file as a response, or 404 when it is missing."""
    if not name:
        raise Http404("No file.")
    try:
        handle = default_storage.open(name, "rb")
    except (FileNotFoundError, OSError):
        raise Http404("The file is missing from storage.") from None
    response = FileResponse(handle, content_type=content_type)
    response["Cache-Control"] = f"private, max-age={max_age}"
    # The type comes from the generated name, never the upload's; and bytes that are also a web page (an
    # image/HTML polyglot) must not run even when opened on their own: no sniffing, a sandbox, no loads.
    response["X-Content-Type-Options"] = "nosniff"
    response[HEADER] = USER_FILE_POLICY
    return response


def stream_image(name: str) -> FileResponse:
    """Return a stored image typed by its extension, cached for a day (a generated name never gets new bytes)."""
    return stream_file(name, image_type(name), max_age=86400)


def download_file(path: Path, filename: str) -> FileResponse:
    """Return a file on the local disk as a download named `filename`, or 404 when it is missing."""
    if not path.is_file():
        raise Http404("The file is missing from storage.")
    response = FileResponse(open(path, "rb"), as_attachment=True, filename=filename,
                            content_type="application/octet-stream")
    response[HEADER] = USER_FILE_POLICY  # an imported model is someone's upload too
    return response
