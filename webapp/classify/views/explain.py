"""Why did it decide that: ask for an explanation, watch it arrive, pick another class, see its PNGs."""

from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from webapp.classify.forms import ExplainForm
from webapp.classify.services.access import get_explanation
from webapp.classify.services.explain import (
    ExplainError,
    create_explanation,
    finished,
    png_names,
    request_explanation,
    waiting_note,
)
from webapp.core.files import PNG, stream_file


@require_http_methods(["GET", "POST"])
def explain_new(request):
    """Upload an image and choose a model to see why it decides what it does."""
    form = ExplainForm(request.POST or None, request.FILES or None, user=request.user,
                       initial={"model": request.GET.get("model", "")})
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["image"]
        try:
            explanation = create_explanation(request.user, form.cleaned_data["model"], data=upload,
                                             name=upload.name)
        except ExplainError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            return redirect("classify_explanation", pk=explanation.pk)
    return render(request, "classify/explain_new.html", {"form": form}, status=400 if form.errors else 200)


def _status(explanation) -> dict:
    done = finished(explanation)
    return {"id": explanation.pk, "status": explanation.status, "error": explanation.error, "finished": done,
            "note": "" if done else waiting_note(explanation)}


@require_GET
def explanation_detail(request, pk):
    """Show the explanation: the heatmap over the image, feature maps by stage, first-layer filters."""
    explanation = get_explanation(request.user, pk)
    result = explanation.result or {}
    urls = {kind: reverse("classify_explanation_png", args=[explanation.pk, kind]) for kind in png_names(explanation)}
    stages = [{**stage, "url": urls.get(f"stage-{stage['name']}")} for stage in result.get("stages", [])]
    return render(request, "classify/explanation.html", {
        "explanation": explanation, "result": result, "urls": urls, "stages": stages,
        "status": _status(explanation), "class_choices": _class_choices(explanation),
    })


def _class_choices(explanation) -> list[tuple[int, str]]:
    result = explanation.result or {}
    names = result.get("class_names_all")
    if names:
        return list(enumerate(names))
    top = result.get("top", [])
    return [(t["index"], t["name"]) for t in top]


@require_GET
def explanation_status(request, pk):
    """Answer whether the explanation is ready, for the page to poll."""
    return JsonResponse(_status(get_explanation(request.user, pk)))


@require_POST
def explanation_class(request, pk):
    """Recompute the heatmap for another class, or through another layer."""
    from django.contrib import messages

    explanation = get_explanation(request.user, pk)
    raw = request.POST.get("class_index", "")
    layer = request.POST.get("layer", "").strip()[:200]
    try:
        class_index = int(raw) if raw not in ("", "top") else None
    except ValueError:
        messages.error(request, "Choose one of the model's classes.")
        return redirect("classify_explanation", pk=explanation.pk)
    try:
        request_explanation(explanation, class_index=class_index, layer=layer)
    except ExplainError as error:
        messages.error(request, error.message if error.field == "layer" else "Choose one of the model's classes.")
    return redirect("classify_explanation", pk=explanation.pk)


@require_GET
def explanation_png(request, pk, kind):
    """Stream one PNG of the explanation (input, overlay, heatmap, filters, stage-conv1, ...)."""
    explanation = get_explanation(request.user, pk)
    name = png_names(explanation).get(kind)
    if name is None:
        raise Http404("No such picture.")
    return stream_file(name, PNG)
