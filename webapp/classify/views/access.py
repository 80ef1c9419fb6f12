"""Who may see which job, explanation and imported model: every page loads through here (others get 404)."""

from django.core.files.storage import default_storage
from django.http import FileResponse, Http404

from webapp.classify.models import ClassificationJob, Explanation, ImportedModel
from webapp.core.ownership import get_visible_or_404

PNG = "image/png"
WEBP = "image/webp"


def get_job(user, pk) -> ClassificationJob:
    return get_visible_or_404(ClassificationJob.objects.select_related("version__dataset", "evaluation"), user, pk=pk)


def get_explanation(user, pk) -> Explanation:
    return get_visible_or_404(Explanation, user, pk=pk)


def get_imported(user, pk) -> ImportedModel:
    return get_visible_or_404(ImportedModel, user, pk=pk)


def stream_file(name: str, content_type: str, *, download_as: str | None = None) -> FileResponse:
    """Return a private storage file as a response, or 404 when it is missing."""
    if not name:
        raise Http404("No file.")
    try:
        handle = default_storage.open(name, "rb")
    except (FileNotFoundError, OSError):
        raise Http404("The file is missing from storage.") from None
    response = FileResponse(handle, content_type=content_type, as_attachment=download_as is not None,
                            filename=download_as or "")
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response
