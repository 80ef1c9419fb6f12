"""The model card: what a model is, what it knows, how to feed it, how well it does and what made it."""

from __future__ import annotations

import platform
from pathlib import Path

from django.conf import settings

from classifier.export import library_versions as installed_versions
from webapp.classify.services import refs
from webapp.classify.services.exports import exports_of
from webapp.runs.models import ModelArtifact, TrainingRun

LIBRARIES = ("torch", "torchvision", "safetensors", "onnx", "onnxruntime", "Pillow", "numpy")


def library_versions() -> dict[str, str]:
    """Return the versions of the libraries that load and run a model here."""
    return {"python": platform.python_version(), **installed_versions(*LIBRARIES)}


def _stored_card(path: Path) -> dict:
    from classifier.weights import WeightsError, read_card

    try:
        return read_card(path).to_dict()
    except (WeightsError, OSError):
        return {}


def architecture(arch: str, *, num_classes: int, image_size: int, spec) -> dict:
    """Return the registry's description of an architecture and its parameter count."""
    from classifier.factory import parameter_count
    from classifier.registry import UnknownModel, model_info

    try:
        info = model_info(arch)
    except UnknownModel:
        return {"name": arch, "family": "?", "description": "not in this version's registry", "parameters": None}
    try:
        count = parameter_count(arch, num_classes=num_classes, image_size=image_size, spec=spec)
    except ValueError:
        count = None
    return {"name": arch, "family": info.family, "description": info.description, "parameters": count}


def run_card(run: TrainingRun) -> dict:
    """Return everything the model card page shows about a run's model."""
    from webapp.runs.services.access import primary_evaluation

    weights = refs.weights_of(run)
    stored = _stored_card(Path(settings.MEDIA_ROOT) / weights.path) if weights else {}
    class_names = stored.get("class_names") or list(run.version.class_names)
    image_size = stored.get("image_size") or run.config.get("image_size")
    evaluation = primary_evaluation(run)
    return {
        "kind": "run", "ref": f"run:{run.pk}", "title": run.name or f"Run {run.pk}", "run": run,
        "architecture": architecture(run.arch, num_classes=len(class_names), image_size=image_size,
                                     spec=stored.get("spec")),
        "class_names": class_names, "image_size": image_size, "preset": stored.get("preset") or {},
        "train_preset": (stored.get("extra") or {}).get("train_preset") or {},
        "evaluation": evaluation, "version": run.version, "config": run.config,
        "weights": weights, "checkpoint": run.artifacts.filter(kind=ModelArtifact.Kind.CHECKPOINT).first(),
        "exports": export_rows(run), "libraries": library_versions(),
        "trained_with": (stored.get("extra") or {}).get("config", {}).get("library_versions"),
    }


EXPORT_LABELS = {"torchscript": "TorchScript", "onnx": "ONNX"}


def export_rows(run: TrainingRun) -> list[dict]:
    """Return one row per export format: its newest artifact (or None), state and parity check."""
    found = exports_of(run)
    rows = []
    for fmt, label in EXPORT_LABELS.items():
        artifact = found.get(fmt)
        details = (artifact.details or {}) if artifact else {}
        rows.append({"format": fmt, "label": label, "artifact": artifact, "state": details.get("state", "done")
                     if artifact else None, "parity": details.get("parity"), "images": details.get("images"),
                     "error": details.get("error")})
    return rows


def imported_card(model) -> dict:
    """Return the model card of an imported model."""
    return {
        "kind": "imported", "ref": model.ref, "title": model.name, "imported": model,
        "architecture": architecture(model.arch, num_classes=len(model.class_names), image_size=model.image_size,
                                     spec=model.spec),
        "class_names": model.class_names, "image_size": model.image_size, "preset": model.preset,
        "libraries": library_versions(),
    }


def imagenet_card(arch: str) -> dict:
    """Return the model card of torchvision's ImageNet weights for `arch`."""
    from classifier.presets import EvalPreset
    from classifier.pretrained import imagenet_class_names, imagenet_weights_path
    from classifier.registry import model_info

    info = model_info(arch)
    size = info.default_image_size
    return {
        "kind": "imagenet", "ref": f"imagenet:{arch}", "title": f"{arch} (ImageNet)",
        "architecture": architecture(arch, num_classes=1000, image_size=size, spec=None),
        "class_names": imagenet_class_names(), "image_size": size, "preset": EvalPreset(size=size).to_dict(),
        "weights_name": info.imagenet_weights, "weights_path": str(imagenet_weights_path(arch)),
        "libraries": library_versions(),
    }
