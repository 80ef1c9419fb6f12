"""Results of one evaluation: summary, confusion matrix, per-class table, calibration; evaluate elsewhere."""

from django.contrib import messages
from django.db.models import Avg
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from webapp.runs.forms import EvaluateForm
from webapp.runs.models import EvaluationStatus, RunStatus
from webapp.runs.services import health
from webapp.runs.services.access import get_evaluation, get_run
from webapp.runs.services.evaluations import EvaluationRequestError, evaluate_on_version, weights_artifact
from webapp.runs.services.init_from import started_from
from webapp.runs.services.retrain import can_retrain
from webapp.runs.views.calibration import calibration_reading
from webapp.runs.views.matrix import MAX_GRID_CLASSES, confused_pairs, heatmap_rows, per_class_rows


def run_summary(run) -> dict:
    """Return the training numbers the results summary shows beside the evaluation's own."""
    if run is None:
        return {}
    speed = run.epochs.aggregate(mean=Avg("images_per_s"))["mean"]
    return {"best_epoch": run.best_epoch, "train_seconds": run.train_seconds, "images_per_s": speed,
            "epochs_done": run.epochs.count()}


@require_GET
def evaluation_detail(request, pk):
    """Show an evaluation's results: summary, confusion matrix, per-class scores and calibration."""
    evaluation = get_evaluation(request.user, pk)
    if evaluation.status != EvaluationStatus.SUCCEEDED:
        return render(request, "runs/evaluation_pending.html", {"evaluation": evaluation, "run": evaluation.run})
    metrics, names = evaluation.metrics, evaluation.class_names
    matrix = metrics.get("confusion_matrix", [])
    grid = len(names) <= MAX_GRID_CLASSES
    per_class = per_class_rows(metrics)
    siblings = []
    if evaluation.run_id:
        siblings = list(evaluation.run.evaluations.select_related("version__dataset").order_by("-created_at"))
    chart_data = {
        "per_class": [{"name": row["class"], "accuracy": row["recall"]} for row in per_class],
        "reliability": metrics.get("reliability", []),
    }
    return render(request, "runs/results.html", {
        "evaluation": evaluation,
        "run": evaluation.run,
        "summary": run_summary(evaluation.run),
        "health": health.shown(evaluation.run.health) if evaluation.run_id else [],
        "can_rerun": bool(evaluation.run_id) and health.can_rerun(evaluation.run),
        "grid": grid,
        "heatmap": heatmap_rows(matrix, names) if grid else None,
        "pairs": confused_pairs(matrix, names) if not grid else None,
        "class_count": len(names),
        "max_grid": MAX_GRID_CLASSES,
        "per_class": per_class,
        "class_names": names,
        "macro": metrics.get("macro", {}),
        "weighted": metrics.get("weighted", {}),
        "nll": metrics.get("nll"),
        "calibration": calibration_reading(metrics.get("reliability", [])),
        "siblings": siblings,
        "chart_data": chart_data,
        "has_weights": bool(evaluation.run_id) and weights_artifact(evaluation.run) is not None,
        "started_from": started_from(evaluation.run, request.user) if evaluation.run_id else None,
        "can_retrain": can_retrain(evaluation.run),
    })


@never_cache
@require_GET
def evaluation_status(request, pk):
    """Answer whether an evaluation has finished, for its waiting page to poll."""
    evaluation = get_evaluation(request.user, pk)
    return JsonResponse({"id": evaluation.pk, "status": evaluation.status, "error": evaluation.error,
                         "top1": evaluation.top1})


@require_http_methods(["GET", "POST"])
def run_evaluate(request, pk):
    """Evaluate a finished run's model on another dataset version and show the results."""
    run = get_run(request.user, pk)
    form = EvaluateForm(request.POST or None, user=request.user, classes=run.version.class_names,
                        initial={"version": run.version_id})
    finished = run.status == RunStatus.SUCCEEDED
    if request.method == "POST" and finished and form.is_valid():
        try:
            evaluation = evaluate_on_version(run, form.cleaned_data["version"], form.cleaned_data["split"],
                                             user=request.user)
        except EvaluationRequestError as error:
            form.add_error(error.field if error.field in form.fields else None, str(error))
        else:
            messages.success(request, f"Evaluating on {evaluation.version} ({evaluation.get_split_display()}).")
            return redirect("evaluation_detail", pk=evaluation.pk)
    return render(request, "runs/evaluate.html", {"run": run, "form": form, "finished": finished})
