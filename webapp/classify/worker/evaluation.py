"""A job over a labelled dataset version also measures the model: an Evaluation the runs pages show."""

from __future__ import annotations

import torch
from django.db import transaction

from webapp.classify.models import ClassificationJob
from webapp.classify.services.refs import ModelRef
from webapp.runs.models import Evaluation


def evaluate_job(job: ClassificationJob, model_classes: list[str], logits: list, targets: list[int],
                 image_ids: list[int]) -> Evaluation | None:
    """Store the job's answers on its split as an Evaluation (with per-image predictions) and link it."""
    from classifier.metrics import classification_metrics
    from webapp.runs.services.evaluations import store_evaluation

    unknown = [name for name in job.version.class_names if name not in model_classes]
    note = ""
    if unknown:
        listed = ", ".join(f"“{name}”" for name in unknown[:5]) + (" and more" if len(unknown) > 5 else "")
        note = (f"No evaluation: the model does not know the class{'es' if len(unknown) > 1 else ''} {listed} "
                "of this dataset version, so its answers cannot be scored.")
    elif not logits:
        note = "No evaluation: no image of the split could be read."
    if note:
        ClassificationJob.objects.filter(pk=job.pk).update(evaluation_note=note[:500])
        return None
    stacked = torch.stack(logits)  # (N, C) float32
    metrics = classification_metrics(stacked, torch.tensor(targets), list(model_classes))
    probabilities = stacked.double().softmax(dim=1)  # (N, C)
    top = probabilities.topk(min(5, stacked.shape[1]), dim=1)
    metrics["predictions"] = [
        {"record_index": row, "true": targets[row], "predicted": int(top.indices[row, 0]),
         "confidence": float(top.values[row, 0]),
         "top5": [[int(i), float(p)] for i, p in zip(top.indices[row], top.values[row], strict=True)]}
        for row in range(len(targets))
    ]
    ref = ModelRef.parse(job.model_ref)
    evaluation = Evaluation(run_id=int(ref.key) if ref.kind == "run" else None, version=job.version,
                            split=job.split, created_by=job.owner, class_names=list(model_classes))
    with transaction.atomic():
        store_evaluation(evaluation, metrics, image_ids)
        ClassificationJob.objects.filter(pk=job.pk).update(evaluation=evaluation, evaluation_note="")
    return evaluation
