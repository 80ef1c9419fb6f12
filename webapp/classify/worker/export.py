"""Exports, the worker's side: write the TorchScript or ONNX file, check its parity and record both."""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from webapp.classify.services.reaper import EXPORTS
from webapp.core.files import file_sha256
from webapp.core.reaping import Heartbeat
from webapp.runs.models import ModelArtifact, TrainingRun

log = logging.getLogger(__name__)
PARITY_IMAGES = 8
PARITY_SPLITS = ("val", "test", "train")


def run_export(artifact_id: int, *, worker: str = "", token: str | None = None) -> str:
    """Export the artifact's run, check parity and record both (the task body).

    `token` is the task id of the message: one the export no longer names (a late redelivery) claims nothing,
    and a worker that lost its claim (the reaper gave the export to another) records nothing.
    """
    attempt = EXPORTS.claim(artifact_id, token=token, worker=worker)
    if attempt is None:
        return "not claimed"
    artifact = ModelArtifact.objects.select_related("run__version").get(pk=artifact_id)
    fmt = artifact.details.get("format")
    lease = {"state": "running", "attempts": attempt}
    with Heartbeat(partial(EXPORTS.beat, artifact_id, attempt), EXPORTS.heartbeat_interval_s()):
        try:
            parity, images = _export(artifact, fmt)
        except Exception as error:
            log.exception("export %s failed", artifact_id)
            message = getattr(error, "message", None) or f"{type(error).__name__}: {error}"
            EXPORTS.change(artifact_id, lease, state="failed", error=str(message)[:2000],
                           finished_at=timezone.now().isoformat())
            return "failed"
    path = Path(settings.MEDIA_ROOT) / artifact.path
    parity.pop("path", None)  # absolute paths of the worker's disk mean nothing to a reader
    with transaction.atomic():
        if not EXPORTS.change(artifact_id, lease, state="done", parity=parity, images=images,
                              finished_at=timezone.now().isoformat()):
            return "lost"
        ModelArtifact.objects.filter(pk=artifact.pk).update(size_bytes=path.stat().st_size, sha256=file_sha256(path))
    artifact.refresh_from_db()
    _drop_older(artifact)
    return "passed" if parity.get("passed") else "parity failed"


def _export(artifact: ModelArtifact, fmt: str) -> tuple[dict, dict]:
    from classifier.export import export_onnx, export_torchscript, model_metadata
    from classifier.factory import load_model
    from classifier.presets import EvalPreset, preset_from_dict
    from webapp.classify.services.refs import weights_of

    weights = weights_of(artifact.run)
    model, card = load_model(Path(settings.MEDIA_ROOT) / weights.path, device="cpu")
    preset = preset_from_dict(card.preset)
    preset = preset if isinstance(preset, EvalPreset) else preset.eval_preset()
    images, described = parity_images(artifact.run, preset)
    exporter = {"torchscript": export_torchscript, "onnx": export_onnx}[fmt]
    metadata = model_metadata(arch=card.arch, class_names=card.class_names, size=preset.size,
                              resize_size=preset.resize_size, mean=preset.mean, std=preset.std)
    parity = exporter(model, images[:1], Path(settings.MEDIA_ROOT) / artifact.path, images=images, metadata=metadata)
    return parity, described


def parity_images(run: TrainingRun, preset) -> tuple:
    """Return ((B, 3, S, S) normalised images, what they are): validation images of the run's version."""
    import torch
    from django.core.files.storage import default_storage

    from webapp.classify.services.decode import decode
    from webapp.classify.services.pipeline import prepare
    from webapp.datasets.services.store import image_limits

    for split in PARITY_SPLITS:
        names = list(run.version.entries.filter(split=split).order_by("pk")
                     .values_list("image__file", flat=True)[:PARITY_IMAGES])
        pixels = []
        for name in names:
            try:
                with default_storage.open(name, "rb") as handle:
                    pixels.append(decode(handle.read(), preset.resize_size, limits=image_limits()).pixels)
            except Exception:  # a missing or unreadable file: check on the others
                continue
        if pixels:
            x = prepare(preset, pixels, device="cpu")
            return x, {"source": f"{split} split of {run.version}", "count": len(pixels)}
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(PARITY_IMAGES, 3, preset.size, preset.size, generator=generator)
    return x, {"source": "random inputs (no image of the run's dataset version could be read)",
               "count": PARITY_IMAGES}


def _drop_older(artifact: ModelArtifact) -> None:
    """Delete earlier finished exports of the same kind (files too): the newest one stands for the run."""
    older = ModelArtifact.objects.filter(run=artifact.run, kind=artifact.kind, created_at__lt=artifact.created_at)
    for row in older:
        if (row.details or {}).get("state") in ("queued", "running"):
            continue
        path = Path(settings.MEDIA_ROOT) / row.path
        path.unlink(missing_ok=True)
        row.delete()

