"""The classify page: pick a model, drop images for a quick test; batch jobs, models and explanations."""

from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from webapp.classify.forms import QuickTestForm
from webapp.classify.models import ClassificationJob, Explanation, ImportedModel
from webapp.classify.services import refs
from webapp.classify.services.quick import MAX_FILES, QuickTestError, is_pending, quick_answer, quick_test

RECENT = 15


def wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _context(request, form: QuickTestForm, **extra) -> dict:
    user = request.user
    return {
        "form": form,
        "max_files": MAX_FILES,
        "jobs": ClassificationJob.objects.visible_to(user).select_related("version__dataset")[:RECENT],
        "runs": refs.classifiable_runs(user)[:50],
        "imported": ImportedModel.objects.visible_to(user),
        "imagenet": refs.imagenet_available(),
        "imagenet_help": refs.imagenet_help(),
        "explanations": Explanation.objects.visible_to(user)[:5],
        **extra,
    }


@require_GET
def classify_home(request):
    """Show the quick test, the batch jobs and the models to classify with."""
    initial = {"model": request.GET.get("model", "")}
    form = QuickTestForm(user=request.user, initial=initial)
    return render(request, "classify/home.html", _context(request, form))


@require_POST
def quick(request):
    """Classify a few images on the worker and answer top-5 with previews, or 202 with a status URL to poll."""
    form = QuickTestForm(request.POST, request.FILES, user=request.user)
    if not form.is_valid():
        if wants_json(request):
            return JsonResponse({"error": _first_error(form), "fields": form.errors}, status=400)
        return render(request, "classify/home.html", _context(request, form), status=400)
    try:
        answer = quick_test(request.user, form.cleaned_data["model"], form.cleaned_data["images"])
    except QuickTestError as error:
        return _quick_error(request, form, error)
    return _quick_answer(request, form, answer)


@require_GET
def quick_status(request, ticket):
    """Answer a quick test that outlived the request's wait: 200 with the answer, or 202 while it is pending."""
    form = QuickTestForm(user=request.user)
    try:
        answer = quick_answer(request.user, ticket)
    except QuickTestError as error:
        return _quick_error(request, form, error)
    return _quick_answer(request, form, answer)


def _quick_answer(request, form, answer: dict):
    code = 200
    if is_pending(answer):  # the worker is still on it: hand back where to ask again
        answer = {**answer, "status_url": reverse("classify_quick_status", args=[answer["ticket"]])}
        code = 202
    if wants_json(request):
        return JsonResponse(answer, status=code)
    if code == 202:
        return render(request, "classify/home.html", _context(request, form, pending=answer), status=code)
    return render(request, "classify/home.html", _context(request, form, answer=answer))


def _quick_error(request, form, error: QuickTestError):
    if wants_json(request):
        return JsonResponse({"error": error.message}, status=error.status)
    if error.status == 404:
        raise Http404(error.message)  # the same page as any other id that is not the person's
    if form.is_bound:
        form.add_error(None, error.message)
    return render(request, "classify/home.html", _context(request, form, quick_error=error.message),
                  status=error.status)


def _first_error(form) -> str:
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        return f"{label}: {errors[0]}" if label else errors[0]
    return "The form is not valid."
