"""Outliers and "More like this": embeddings of a version's images from a trained run's penultimate layer.

The embeddings are stored compactly, one array file per version and model (float16, with the image ids), never
one row per dimension; outlier scores rank the images farthest from their own class (training.datacheck).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from webapp.core.errors import FieldError
from webapp.core.reaping import new_token, send_on_commit
from webapp.datachecks.models import CheckKind, CheckStatus, DataCheck
from webapp.datachecks.services.reaper import CHECKS
from webapp.datasets.models import Dataset, DatasetVersion, Image
from webapp.runs.models import ModelArtifact, RunStatus, TrainingRun

MAX_OUTLIERS = 200
NEIGHBOURS = 10  # classmates an outlier score averages over
SIMILAR = 12  # images "More like this" shows


def embedding_model(dataset: Dataset) -> TrainingRun | None:
    """Return the newest succeeded run trained on one of the dataset's versions that saved weights."""
    return (TrainingRun.objects.filter(version__dataset=dataset, status=RunStatus.SUCCEEDED,
                                       artifacts__kind=ModelArtifact.Kind.WEIGHTS)
            .order_by("-id").first())


def start_outlier_check(dataset: Dataset, user, version: DatasetVersion | None) -> DataCheck:
    """Queue embedding a version's images with the newest run's model and scoring outliers (run queue)."""
    version = version or dataset.versions.order_by("-number").first()
    if version is None:
        raise FieldError("Freeze a version first: outliers are found among a frozen version's images.", "version")
    run = embedding_model(dataset)
    if run is None:
        raise FieldError("Train a run on this dataset first: embeddings come from a trained model.", status=409)
    with transaction.atomic():
        Dataset.objects.select_for_update().filter(pk=dataset.pk).first()
        busy = DataCheck.objects.filter(dataset=dataset, kind=CheckKind.OUTLIERS, version=version,
                                        status__in=(CheckStatus.QUEUED, CheckStatus.RUNNING)).first()
        if busy is not None:
            return busy
        token = new_token()
        check = DataCheck.objects.create(dataset=dataset, version=version, kind=CheckKind.OUTLIERS, created_by=user,
                                         revision=version.revision, status=CheckStatus.QUEUED, task_id=token,
                                         queued_at=timezone.now(), results={"run": run.pk})
        send_on_commit(CHECKS, check.pk, token, quiet=True)
    return check


def embeddings_path(relative: str) -> Path:
    return Path(settings.DATA_DIR) / relative


def run_outlier_check(check: DataCheck, progress, *, stop) -> dict:
    """Embed the version's images with the run's model, store them, and rank outliers per class (worker)."""
    import torch

    from training.datacheck.embeddings import embed, load_embedder, outlier_scores
    from webapp.runs.services.datasets import version_source

    run = TrainingRun.objects.get(pk=(check.results or {})["run"])
    weights = run.artifacts.filter(kind=ModelArtifact.Kind.WEIGHTS).order_by("-id").first()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model, preset = load_embedder(Path(settings.MEDIA_ROOT) / weights.path, device=device)
    source, image_ids = version_source(check.version)
    progress(0, len(image_ids))
    features = embed(source, model, preset=preset, device=device)  # (N, D) float16
    progress(len(image_ids), len(image_ids))
    labels = np.array([r.label for r in source.records], dtype=np.int64)
    relative = f"datachecks/embeddings/v{check.version_id}-run{run.pk}.npz"
    path = embeddings_path(relative)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial.npz")
    np.savez(partial, ids=np.asarray(image_ids, dtype=np.int64), features=features.astype(np.float16))
    partial.replace(path)  # one rename: a reader never sees half a file
    scores = outlier_scores(features.astype(np.float32), labels, k=NEIGHBOURS, device=device)  # (N,)
    order = np.argsort(-scores, kind="stable")[:MAX_OUTLIERS]
    rows = [[int(image_ids[i]), int(labels[i]), round(float(scores[i]), 4)] for i in order.tolist()]
    return {"counts": {"images": len(image_ids), "dimensions": int(features.shape[1])},
            "results": {"run": run.pk, "model": str(run), "embeddings": relative, "outliers": rows,
                        "class_names": list(check.version.class_names)}}


def outliers(check: DataCheck) -> list[dict]:
    """Return a finished outlier check's images, farthest from their class first (live images only)."""
    results = check.results or {}
    names = results.get("class_names") or []
    rows = results.get("outliers") or []
    images = {img.pk: img for img in Image.objects.filter(pk__in=[r[0] for r in rows], deleted_at__isnull=True)}
    return [{"image": images[pk], "label": names[label], "score": score}
            for pk, label, score in rows if pk in images]


def similar(dataset: Dataset, image: Image, k: int = SIMILAR) -> tuple[DataCheck | None, list[dict]]:
    """Return (the check whose embeddings hold `image`, its k most similar live images by cosine similarity)."""
    for check in DataCheck.objects.filter(dataset=dataset, kind=CheckKind.OUTLIERS, status=CheckStatus.SUCCEEDED,
                                          version__entries__image=image).order_by("-id")[:1]:
        path = embeddings_path((check.results or {}).get("embeddings", ""))
        if not path.is_file():
            return check, []
        with np.load(path) as stored:
            ids, features = stored["ids"], stored["features"].astype(np.float32)
        row = np.flatnonzero(ids == image.pk)
        if not len(row):
            return check, []
        unit = features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)  # (N, D)
        sims = unit @ unit[row[0]]  # (N,)
        sims[row[0]] = -np.inf
        order = np.argsort(-sims, kind="stable")[: k * 2]
        live = {img.pk: img for img in Image.objects.filter(pk__in=[int(ids[i]) for i in order],
                                                            deleted_at__isnull=True).select_related("label")}
        out = [{"image": live[int(ids[i])], "similarity": float(sims[i])} for i in order if int(ids[i]) in live]
        return check, out[:k]
    return None, []
