"""Models to classify with: import weights, delete an import, model cards, exports and downloads."""

from django.contrib import messages
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from webapp.api.snippets import predict_snippets
from webapp.classify.forms import ImportModelForm
from webapp.classify.services import card as cards
from webapp.classify.services import exports, refs
from webapp.classify.services.access import get_imported
from webapp.classify.services.exports import ExportRequestError, exports_of, request_export
from webapp.classify.services.imported import ImportModelError, delete_imported, import_model
from webapp.runs.models import TrainingRun
from webapp.runs.services.access import get_run
from webapp.runs.services.init_from import started_from


@require_http_methods(["GET", "POST"])
def model_import(request):
    """Import a weights file for a registered architecture or a custom network."""
    form = ImportModelForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            model = import_model(request.user, name=data["name"], upload=data["file"], arch=data.get("arch") or "",
                                 network=data.get("network"), class_names=data.get("class_names"),
                                 image_size=data.get("image_size"))
        except ImportModelError as error:
            form.add_service_error(error)
        else:
            messages.success(request, f"“{model.name}” was imported: {len(model.class_names)} classes, "
                                      f"{model.arch} at {model.image_size} px.")
            return redirect("classify_model_card", kind="imported", key=model.pk)
    return render(request, "classify/import_model.html", {"form": form}, status=400 if form.errors else 200)


@require_POST
def imported_delete(request, pk):
    """Delete an imported model (jobs made with it keep their results)."""
    model = get_imported(request.user, pk)
    delete_imported(model)
    messages.success(request, f"“{model.name}” was deleted.")
    return redirect("classify_home")


@require_GET
def model_card(request, kind, key):
    """Show a model's card: architecture, classes, preprocessing, metrics, data, config, libraries."""
    if kind == "run":
        run = _classifiable_run(request.user, key)
        context = {**cards.run_card(run), "started_from": started_from(run, request.user)}
    elif kind == "imported":
        context = cards.imported_card(get_imported(request.user, key))
    elif kind == "imagenet":
        refs.resolve(request.user, f"imagenet:{key}")
        context = cards.imagenet_card(key)
    else:
        raise Http404("No such kind of model.")
    return render(request, "classify/model_card.html",
                  {"card": context, "snippets": predict_snippets(request, context["ref"])})


def _classifiable_run(user, key) -> TrainingRun:
    run = get_run(user, key)
    if not refs.classifiable_runs(user).filter(pk=run.pk).exists():
        raise Http404("This run has no saved model yet.")
    return run


@require_POST
def export_create(request, pk, fmt):
    """Export a run's model to TorchScript or ONNX on the worker (parity checked there)."""
    run = _classifiable_run(request.user, pk)
    try:
        request_export(run, fmt, user=request.user)
        messages.success(request, f"Exporting to {fmt}: the parity check appears here when it is done.")
    except ExportRequestError as error:
        messages.error(request, error.message)
    return redirect("classify_model_card", kind="run", key=run.pk)


@require_GET
def export_status(request, pk):
    """Answer the state of a run's exports, for the model card to poll."""
    run = _classifiable_run(request.user, pk)
    return JsonResponse({fmt: {"id": a.pk, **(a.details or {})} for fmt, a in exports_of(run).items()})


@require_GET
def artifact_download(request, pk):
    """Download a run's weights, checkpoint or export, if the run is visible to the user."""
    return exports.artifact_download(request.user, pk)
