"""The upload page and the JSON endpoint its script sends batches of files to."""

from functools import wraps

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from webapp.datasets.forms import ClassNameForm, UploadForm
from webapp.datasets.models import ImportItem
from webapp.datasets.services.access import dataset_for
from webapp.datasets.services.ingest import upload_files

FILES_FIELD = "files"


def _error(status: int, message: str, **extra) -> JsonResponse:
    return JsonResponse({"error": message, **extra}, status=status)


def json_body_errors(view):
    """Answer JSON (never Django's HTML 400 page) when a multipart body is too big, has too many files or is broken.

    Django parses the body on first access to request.POST/FILES, and the CSRF middleware is usually first: it
    would turn TooManyFilesSent into an HTML 400 before the view runs. So the view is exempted from the
    middleware, parses the body itself, and then runs the same CSRF check.
    """

    @csrf_exempt
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FILES
        try:
            request.FILES  # noqa: B018 (parse the body now, where its errors can be caught)
        except TooManyFilesSent:
            return _error(400, f"Too many files in one request: send at most {limit} files at a time.",
                          max_files=limit)
        except (RequestDataTooBig, TooManyFieldsSent):
            return _error(400, "The request's form fields are too large; send fewer files at a time.")
        except MultiPartParserError:
            return _error(400, "The upload was not a readable multipart form; try again.")
        if CsrfViewMiddleware(lambda r: None).process_view(request, view, args, kwargs) is not None:
            return _error(403, "The page's security token is missing or old: reload the page and try again.")
        return view(request, *args, **kwargs)

    return wrapped


@require_GET
def upload_page(request, pk):
    """Show the drag-and-drop upload page."""
    dataset = dataset_for(request.user, pk)
    form = UploadForm(dataset=dataset)
    chosen = request.GET.get("label")  # a class just added with "New class" comes back chosen
    if chosen in {value for value, _ in form.fields["label"].choices}:
        form.initial["label"] = chosen
    context = {
        "dataset": dataset,
        "tab": "upload",
        "form": form,
        "create_form": ClassNameForm(dataset=dataset, prefix="create"),
        "here": request.path,
        "max_files": settings.DATA_UPLOAD_MAX_NUMBER_FILES,
        "max_bytes": settings.LUX_MAX_UPLOAD_BYTES,
        "endpoint": reverse("dataset_upload_files", args=[dataset.pk]),
    }
    return render(request, "datasets/upload.html", context)


@require_POST
@json_body_errors
def upload_batch(request, pk):
    """Store one batch of at most DATA_UPLOAD_MAX_NUMBER_FILES files; answer each file's outcome as JSON."""
    dataset = dataset_for(request.user, pk)
    form = UploadForm(request.POST, dataset=dataset)
    if not form.is_valid():
        return _error(400, "Choose a class and a split that exist.", fields=form.errors.get_json_data())
    files = request.FILES.getlist(FILES_FIELD)
    if not files:
        return _error(400, f"No files: send images in the “{FILES_FIELD}” field.")
    batch = upload_files(dataset, files, label=form.chosen_class(), split=form.cleaned_data["split"],
                         user=request.user)
    items = batch.items.select_related("image__label")
    results = [item_json(dataset, item) for item in items]
    counts = {outcome: sum(r["outcome"] == outcome for r in results) for outcome in ImportItem.Outcome.values}
    return JsonResponse({"import": batch.pk, "counts": counts, "files": results})


def item_json(dataset, item: ImportItem) -> dict:
    """Return what the page shows for one file: its outcome, in words, and the image it became or matched."""
    image = item.image
    result = {"name": item.name, "outcome": item.outcome, "reason": item.reason, "message": item.message,
              "image": None}
    if image is not None:
        result["image"] = {
            "id": image.pk,
            "name": image.original_name or image.sha256[:12],
            "label": image.label.name if image.label else None,
            "url": reverse("image_detail", args=[dataset.pk, image.pk]),
            "thumbnail": reverse("image_thumbnail", args=[dataset.pk, image.pk]),
        }
    return result
