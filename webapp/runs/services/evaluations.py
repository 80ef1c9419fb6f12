"""Evaluations: storing a model's measurements on a split, and measuring a finished run on another version."""

from __future__ import annotations

import logging
import uuid

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from webapp.datasets.models import DatasetVersion, Split
from webapp.runs.models import (
    EvalPrediction,
    Evaluation,
    EvaluationStatus,
    ModelArtifact,
    RunStatus,
    TrainingRun,
)
from webapp.runs.services import conf, datasets, lifecycle

log = logging.getLogger(__name__)
EVALUABLE_SPLITS = (Split.TRAIN.value, Split.VAL.value, Split.TEST.value)


class EvaluationRequestError(ValueError):
    """The evaluation cannot be made; `.field` names the input at fault (for errors beside the field)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def store_evaluation(evaluation: Evaluation, metrics: dict, image_ids: list[int]) -> Evaluation:
    """Save `evaluation` with training.evaluate()'s metrics and one EvalPrediction per image (bulk)."""
    metrics = dict(metrics)
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
                        predicted_index=p["predicted"], confidence=p["confidence"], top5=p["top5"])
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
    """Send the evaluation's task to the run queue once the current transaction commits."""
    from webapp.runs.tasks import evaluate_run

    task_id, queue = str(uuid.uuid4()), conf.run_queue()
    Evaluation.objects.filter(pk=evaluation.pk).update(task_id=task_id)
    transaction.on_commit(lambda: evaluate_run.apply_async(args=[evaluation.pk], task_id=task_id, queue=queue))


def _model_classes(run: TrainingRun) -> list[str]:
    evaluation = run.evaluations.filter(created_by__isnull=True).first()
    return list(evaluation.class_names) if evaluation else list(run.version.class_names)


def execute_evaluation(evaluation_id: int, *, worker: str = "") -> str:
    """Measure the evaluation's model on its split and store the results (the worker's side)."""
    if not lifecycle.evaluation_transition(evaluation_id, "claim", worker=worker[:255], started_at=timezone.now(),
                                           attempts=F("attempts") + 1):
        return "not claimed"
    evaluation = Evaluation.objects.select_related("run", "version").get(pk=evaluation_id)
    try:
        metrics, image_ids = _measure(evaluation)
        with transaction.atomic():
            store_evaluation(evaluation, metrics, image_ids)
    except Exception as exc:
        log.exception("evaluation %s failed", evaluation_id)
        lifecycle.evaluation_transition(evaluation_id, "fail", error=lifecycle.error_fields(exc)["error"])
        return "failed"
    return "succeeded"


def _measure(evaluation: Evaluation) -> tuple[dict, list[int]]:
    """Run the saved model over the evaluation's split; return (metrics, image ids by record)."""
    from classifier.presets import preset_from_dict
    from classifier.weights import load_model
    from training import build_cache, evaluate
    from training.device import resolve_device
    from webapp.runs.engine import version_source

    artifact = weights_artifact(evaluation.run)
    device = resolve_device(conf.device_choice(evaluation.run.config.get("device", "auto")))
    model, card = load_model(settings.MEDIA_ROOT / artifact.path, device=device)
    preset = preset_from_dict(card.preset)
    mapping = label_map(card.class_names, list(evaluation.version.class_names))
    source, image_ids = version_source(evaluation.version, splits=(evaluation.split,), label_map=mapping,
                                       class_names=card.class_names)
    data = build_cache(source, cache_size=preset.resize_size, cache_dir=conf.cache_dir())
    # Predictions name their record by its index in `source.records`, which `image_ids` follows.
    metrics = evaluate(model, data.split(evaluation.split), class_names=card.class_names, preset=preset,
                       device=device)
    return metrics, image_ids
