"""Evaluations: storing a model's measurements on a split, and asking for a finished run to be measured on
another version (the measuring itself is webapp.runs.worker's)."""

from __future__ import annotations

from webapp.core import reaping
from webapp.core.errors import FieldError
from webapp.datasets.models import DatasetVersion, Split
from webapp.runs.models import (
    EvalPrediction,
    Evaluation,
    EvaluationStatus,
    ModelArtifact,
    RunStatus,
    TrainingRun,
)
from webapp.runs.services import datasets
from webapp.runs.services.health import finite

EVALUABLE_SPLITS = (Split.TRAIN.value, Split.VAL.value, Split.TEST.value)


class EvaluationRequestError(FieldError):
    """The evaluation cannot be made; `.field` names the input at fault (for errors beside the field)."""


def store_evaluation(evaluation: Evaluation, metrics: dict, image_ids: list[int]) -> Evaluation:
    """Save `evaluation` with training.evaluate()'s metrics and one EvalPrediction per image (bulk)."""
    metrics = finite(dict(metrics))  # a diverged model's NaN would break the JSON column
    predictions = metrics.pop("predictions")
    evaluation.num_samples = metrics["num_samples"]
    evaluation.top1, evaluation.top5 = metrics["top1"], metrics["top5"]
    evaluation.macro_f1, evaluation.ece = metrics["macro"]["f1"], metrics["ece"]
    evaluation.metrics = metrics
    evaluation.status, evaluation.error = EvaluationStatus.SUCCEEDED, ""
    evaluation.save()
    EvalPrediction.objects.filter(evaluation=evaluation).delete()
    EvalPrediction.objects.bulk_create(
        [EvalPrediction(evaluation=evaluation, image_id=image_ids[p["record_index"]], true_index=p["true"],
                        predicted_index=p["predicted"], confidence=p["confidence"] or 0.0, top5=p["top5"])
         for p in predictions], batch_size=1000)
    return evaluation


def weights_artifact(run: TrainingRun) -> ModelArtifact | None:
    """Return the run's saved weights, or None."""
    return run.artifacts.filter(kind=ModelArtifact.Kind.WEIGHTS).order_by("-created_at").first()


def label_map(model_classes: list[str], version_classes: list[str]) -> dict[int, int]:
    """Return {version class index: model class index}, matching classes by name."""
    position = {name: i for i, name in enumerate(model_classes)}
    unknown = [name for name in version_classes if name not in position]
    if unknown:
        listed = ", ".join(f"“{n}”" for n in unknown[:5]) + (" and more" if len(unknown) > 5 else "")
        raise EvaluationRequestError(f"This model does not know the class{'es' if len(unknown) > 1 else ''} "
                                     f"{listed}; it was trained on {', '.join(model_classes)}.", "version")
    return {i: position[name] for i, name in enumerate(version_classes)}


def evaluate_on_version(run: TrainingRun, version: DatasetVersion, split: str, *, user) -> Evaluation:
    """Create a queued Evaluation of the run's model on `version`'s `split` and send it to a worker.

    Returns at once; the worker fills in the numbers (status queued -> running -> succeeded or failed).
    """
    if run.status != RunStatus.SUCCEEDED or weights_artifact(run) is None:
        raise EvaluationRequestError("Only a run that finished and saved its weights can be evaluated.")
    if split not in EVALUABLE_SPLITS:
        raise EvaluationRequestError(f"Choose one of the splits {', '.join(EVALUABLE_SPLITS)}.", "split")
    model_classes = _model_classes(run)
    label_map(model_classes, list(version.class_names))
    _, per_class = datasets.version_counts(version)
    count = sum(counts.get(split, 0) for counts in per_class.values())
    if count == 0:
        raise EvaluationRequestError(f"The {split} split of {version} holds no images.", "split")
    evaluation = Evaluation.objects.create(
        run=run, version=version, split=split, status=EvaluationStatus.QUEUED, created_by=user,
        class_names=model_classes, num_samples=count)
    enqueue_evaluation(evaluation)
    return evaluation


def enqueue_evaluation(evaluation: Evaluation) -> None:
    """Send the evaluation's task to the run queue once the current transaction commits (see enqueue_run)."""
    from webapp.runs.services.reaper import EVALUATIONS

    token = reaping.new_token()
    Evaluation.objects.filter(pk=evaluation.pk).update(**EVALUATIONS.queued_fields(token))
    evaluation.task_id = token
    reaping.send_on_commit(EVALUATIONS, evaluation.pk, token)


def _model_classes(run: TrainingRun) -> list[str]:
    evaluation = run.evaluations.filter(created_by__isnull=True).first()
    return list(evaluation.class_names) if evaluation else list(run.version.class_names)
