"""CSV downloads of an evaluation and the weights file of a run, each checked for ownership."""

from pathlib import Path

from django.conf import settings
from django.http import FileResponse, Http404, HttpResponse, StreamingHttpResponse
from django.utils.text import slugify
from django.views.decorators.http import require_GET

from webapp.core.csvsafe import line_writer
from webapp.runs.models import ModelArtifact
from webapp.runs.services.access import get_evaluation, get_run


def _csv_response(filename: str, rows) -> HttpResponse:
    """Return a CSV attachment built from an iterable of rows."""
    writer = line_writer()  # file and class names are user input: no cell may run as a spreadsheet formula
    response = StreamingHttpResponse((writer.writerow(row) for row in rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _stem(evaluation) -> str:
    run = f"run-{evaluation.run_id}-" if evaluation.run_id else ""
    return f"{run}eval-{evaluation.pk}-{evaluation.split}"


@require_GET
def confusion_csv(request, pk):
    """Download the full confusion matrix: rows are true classes, columns predicted classes."""
    evaluation = get_evaluation(request.user, pk, finished=True)
    names = evaluation.class_names
    matrix = evaluation.metrics.get("confusion_matrix", [])
    rows = [["true \\ predicted", *names]] + [[names[t], *row] for t, row in enumerate(matrix)]
    return _csv_response(f"{_stem(evaluation)}-confusion.csv", rows)


@require_GET
def per_class_csv(request, pk):
    """Download precision, recall (per-class accuracy), F1 and support of every class."""
    evaluation = get_evaluation(request.user, pk, finished=True)
    header = [["class", "index", "precision", "recall", "f1", "support"]]
    rows = [[row["class"], row["index"], f"{row['precision']:.6f}", f"{row['recall']:.6f}", f"{row['f1']:.6f}",
             row["support"]] for row in evaluation.metrics.get("per_class", [])]
    return _csv_response(f"{_stem(evaluation)}-per-class.csv", header + rows)


@require_GET
def predictions_csv(request, pk):
    """Download one row per image: its true and predicted class, confidence and top-5."""
    evaluation = get_evaluation(request.user, pk, finished=True)
    names = evaluation.class_names

    def name(index):
        index = int(index)
        return names[index] if 0 <= index < len(names) else str(index)

    def rows():
        yield ["image_id", "file_name", "sha256", "true_class", "predicted_class", "correct", "confidence", "top5"]
        predictions = evaluation.predictions.select_related("image").order_by("pk").iterator(chunk_size=2000)
        for p in predictions:
            top5 = ";".join(f"{name(index)}:{prob:.4f}" for index, prob in p.top5)
            yield [p.image_id, p.image.original_name, p.image.sha256, name(p.true_index), name(p.predicted_index),
                   int(p.true_index == p.predicted_index), f"{p.confidence:.6f}", top5]

    return _csv_response(f"{_stem(evaluation)}-predictions.csv", rows())


@require_GET
def run_weights(request, pk):
    """Download a run's trained weights (safetensors)."""
    run = get_run(request.user, pk)
    artifact = run.artifacts.filter(kind=ModelArtifact.Kind.WEIGHTS).order_by("-created_at").first()
    if artifact is None:
        raise Http404("This run has no weights yet.")
    root = Path(settings.MEDIA_ROOT).resolve()
    path = (root / artifact.path).resolve()
    # A stored path must never lead outside the media folder.
    if not path.is_relative_to(root) or not path.is_file():
        raise Http404("The weights file is missing.")
    name = slugify(run.name or f"run-{run.pk}") or f"run-{run.pk}"
    return FileResponse(path.open("rb"), as_attachment=True, filename=f"{name}-{run.arch}{path.suffix}")
