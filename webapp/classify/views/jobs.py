"""Batch job pages: create from uploads, a ZIP or a dataset version; watch, cancel, delete."""

from django.contrib import messages
from django.db import transaction
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from webapp.classify.forms import JobForm
from webapp.classify.models import JobStatus
from webapp.classify.services import jobs as service
from webapp.classify.services.access import get_job
from webapp.classify.services.jobs import JobError
from webapp.classify.views.home import wants_json
from webapp.classify.views.results import results_context


@require_http_methods(["GET", "POST"])
def job_new(request):
    """Make a batch job; the page's script sends uploads in batches, plain forms send up to 100 at once."""
    initial = {"model": request.GET.get("model", ""), "source": request.GET.get("source", "upload")}
    form = JobForm(request.POST or None, request.FILES or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():  # a refused upload leaves no empty job behind
                job = _create(request, form)
        except JobError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            if wants_json(request):
                return JsonResponse({"id": job.pk, "url": reverse("classify_job", args=[job.pk]),
                                     "files_url": reverse("classify_job_files", args=[job.pk]),
                                     "start_url": reverse("classify_job_start", args=[job.pk])}, status=201)
            return redirect("classify_job", pk=job.pk)
    if request.method == "POST" and wants_json(request):
        return JsonResponse({"error": "The form has errors.", "fields": form.errors}, status=400)
    return render(request, "classify/job_new.html", {"form": form}, status=400 if form.errors else 200)


def _create(request, form):
    data = form.cleaned_data
    options = {"name": data.get("name") or "", "top_k": data.get("top_k") or 5,
               "low_confidence": (data.get("low_confidence") or 50) / 100}
    source = data["source"]
    if source == "archive":
        return service.create_archive_job(request.user, data["model"], data["archive"], **options)
    if source == "version":
        return service.create_version_job(request.user, data["model"], data["version"], data["split"], **options)
    job = service.create_upload_job(request.user, data["model"], **options)
    if data.get("files"):
        service.add_uploads(job, data["files"])
        if not data.get("defer_files"):
            service.start_job(job)
    return job


@require_POST
def job_files(request, pk):
    """Add up to 100 uploaded files to a pending job; answer what happened to each."""
    job = get_job(request.user, pk)
    try:
        report = service.add_uploads(job, request.FILES.getlist("files"))
    except JobError as error:
        return JsonResponse({"error": error.message}, status=error.status)
    job.refresh_from_db()
    return JsonResponse({"files": report, "total": job.total})


@require_POST
def job_start(request, pk):
    """Queue a pending upload job."""
    job = get_job(request.user, pk)
    try:
        service.start_job(job)
    except JobError as error:
        if wants_json(request):
            return JsonResponse({"error": error.message}, status=error.status)
        messages.error(request, error.message)
    if wants_json(request):
        return JsonResponse(service.job_status(job))
    return redirect("classify_job", pk=job.pk)


def _refused(request, change, job) -> bool:
    """Apply a service change to the job; when it refuses, show why on the next page and return True."""
    try:
        change(job)
    except JobError as error:
        messages.error(request, error.message)
        return True
    return False


@require_POST
def job_cancel(request, pk):
    """Cancel a job (a running one stops within about a second, keeping what it classified)."""
    job = get_job(request.user, pk)
    if not _refused(request, service.cancel_job, job):
        messages.success(request, "The job was cancelled." if job.status == JobStatus.CANCELLED
                         else "Cancelling: the worker stops at its next batch.")
    return redirect("classify_job", pk=job.pk)


@require_POST
def job_delete(request, pk):
    """Delete a finished job with its stored files."""
    job = get_job(request.user, pk)
    if _refused(request, service.delete_job, job):
        return redirect("classify_job", pk=job.pk)
    messages.success(request, "The job and its files were deleted.")
    return redirect("classify_home")


@require_GET
def job_status(request, pk):
    """Answer the small JSON the progress bar polls."""
    return JsonResponse(service.job_status(get_job(request.user, pk)))


@require_GET
def job_detail(request, pk):
    """Show a job: its progress while it runs, its results (filterable) once it has some."""
    job = get_job(request.user, pk)
    return render(request, "classify/job.html", results_context(request, job))
