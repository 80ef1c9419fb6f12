"""A job's results: the filtered gallery, CSV and JSON downloads, thumbnails, and "why?" for one image."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from webapp.classify.models import JobSource, Prediction
from webapp.classify.services import results as service
from webapp.classify.services.access import get_job
from webapp.classify.services.explain import ExplainError, create_explanation
from webapp.classify.services.inputs import input_bytes
from webapp.classify.services.jobs import job_status
from webapp.classify.services.refs import UnknownModelRef
from webapp.core.files import WEBP, stream_file

PAGE_SIZE = 60


def _thumbnail_url(job, prediction) -> str | None:
    if job.source == JobSource.VERSION and prediction.image_id:
        return reverse("image_thumbnail", args=[job.version.dataset_id, prediction.image_id])
    if prediction.thumbnail:
        return reverse("classify_job_thumbnail", args=[job.pk, prediction.position])
    return None


def _row(job, prediction) -> dict:
    top = service.named_topk(job, prediction)
    hover = "\n".join(f"{t['name']}: {t['probability']:.1%}" for t in top)
    return {
        "p": prediction, "thumbnail": _thumbnail_url(job, prediction), "top": top, "hover": hover,
        "top1": top[0]["name"] if top else "", "low": prediction.confidence is not None
        and prediction.confidence < job.low_confidence,
        "true": service._name(job.class_names, prediction.true_index) if prediction.true_index is not None else "",
        "correct": prediction.true_index is not None and prediction.true_index == prediction.predicted_index,
        "explainable": not prediction.error,
    }


def results_context(request, job) -> dict:
    """Return the job page's context: progress, filters, counts and one page of results."""
    flt = service.ResultFilter.from_params(request.GET)
    rows = service.filtered(job, flt)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return {
        "job": job, "status": job_status(job), "filter": flt, "summary": service.summary(job),
        "class_counts": service.class_counts(job), "page": page, "rows": [_row(job, p) for p in page],
        "query": query.urlencode(), "low_percent": round(job.low_confidence * 100),
        "min_percent": round(flt.min_confidence * 100) if flt.min_confidence is not None else "",
    }


def _download(job, request, kind: str):
    rows = service.filtered(job, service.ResultFilter.from_params(request.GET))
    if kind == "csv":
        response = StreamingHttpResponse(service.csv_rows(job, rows), content_type="text/csv; charset=utf-8")
    else:
        response = StreamingHttpResponse(service.json_chunks(job, rows), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="classification-job-{job.pk}.{kind}"'
    return response


@require_GET
def results_csv(request, pk):
    """Download the results as CSV: filename, top-k classes and probabilities, error (filters apply)."""
    return _download(get_job(request.user, pk), request, "csv")


@require_GET
def results_json(request, pk):
    """Download the results as JSON (filters apply)."""
    return _download(get_job(request.user, pk), request, "json")


@require_GET
def job_thumbnail(request, pk, position):
    """Stream the small thumbnail the worker made of an uploaded or archived image."""
    job = get_job(request.user, pk)
    prediction = get_object_or_404(Prediction, job=job, position=position)
    return stream_file(prediction.thumbnail, WEBP)


@require_POST
def explain_prediction(request, pk, position):
    """Explain one image of a job with the job's model, and open the explanation."""
    job = get_job(request.user, pk)
    prediction = get_object_or_404(Prediction, job=job, position=position)
    try:
        data = input_bytes(job, prediction)
        explanation = create_explanation(request.user, job.model_ref, data=data, name=prediction.name)
    except (ExplainError, UnknownModelRef, FileNotFoundError) as error:
        messages.error(request, getattr(error, "message", None) or "The model or the image is no longer there.")
        return redirect("classify_job", pk=job.pk)
    return redirect("classify_explanation", pk=explanation.pk)
