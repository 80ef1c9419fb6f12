"""The Pretrained weights page: every file's state for everyone; download and upload for administrators."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from webapp.core.errors import FieldError
from webapp.weights.forms import FetchForm, UploadForm
from webapp.weights.services.access import NotAllowed, can_manage, require_manager
from webapp.weights.services.catalogue import base_url, file_states, offline
from webapp.weights.services.downloads import start_downloads
from webapp.weights.services.uploads import max_weights_bytes, upload


def _render(request, upload_form=None, status=200):
    from classifier.pretrained import weights_cache_dir
    from webapp.datasets.validation import format_bytes

    states = file_states(request.user)
    return render(request, "weights/page.html", {
        "states": states, "can_manage": can_manage(request.user), "offline": offline(), "base_url": base_url(),
        "cache_dir": weights_cache_dir(), "upload_form": upload_form or UploadForm(),
        "max_bytes": format_bytes(max_weights_bytes()), "downloading": any(s.downloading for s in states),
    }, status=status)


@require_GET
def weights_page(request):
    """Show every ImageNet weights file: present, size, checksum, download progress, the runs that used it."""
    return _render(request)


@require_GET
def weights_status(request):
    """Answer the files' state as JSON, for the page's progress bars."""
    states = file_states(request.user, with_runs=False)
    return JsonResponse({"offline": offline(), "files": [s.to_dict() for s in states]})


@require_POST
def weights_fetch(request):
    """Queue downloads of the chosen architectures' files (staff)."""
    _require_manager(request)
    form = FetchForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose an architecture whose weights to download.")
        return redirect("weights_page")
    try:
        rows = start_downloads(request.user, form.cleaned_data["names"])
    except FieldError as error:
        if error.status == 403:
            raise PermissionDenied(error.message) from None
        messages.error(request, error.message)
        return redirect("weights_page")
    messages.success(request, "Downloading " + ", ".join(r.filename for r in rows) + ".")
    return redirect("weights_page")


@require_POST
def weights_upload(request):
    """Check an uploaded weights file and put it in the cache (staff); a bad file is refused, nothing stored."""
    _require_manager(request)
    form = UploadForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            record = upload(request.user, form.cleaned_data["arch"], form.cleaned_data["file"])
        except FieldError as error:
            if error.status == 403:
                raise PermissionDenied(error.message) from None
            form.add_service_error(error)
        else:
            messages.success(request, f"{record.filename} is in place ({record.get_verified_by_display()}).")
            return redirect("weights_page")
    return _render(request, form, status=400)



def _require_manager(request) -> None:
    try:
        require_manager(request.user)
    except NotAllowed as error:
        raise PermissionDenied(error.message) from None
