"""Start a run from an earlier model: one of the user's succeeded runs, or a model they imported.

The choice is stored in the run's config under INIT_FROM_KEY (where it started, the file and its SHA-256)
and the engine gets the weights file as `pretrained`, with the new classes: rows of the head for classes the
earlier model knew by name are kept (classifier.transfer), so only new classes start fresh.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.urls import reverse

from classifier.pretrained_files import hash_prefix, weights_file_for
from classifier.weights import WeightsError
from webapp.classify.models import ImportedModel
from webapp.core.files import file_sha256
from webapp.core.ids import parse_id
from webapp.runs.models import ModelArtifact, RunStatus, TrainingRun

INIT_FROM_KEY = "init_from"  # the run config's entry that is not a TrainConfig field: where the weights came from


@dataclass(frozen=True)
class StartFrom:
    """An earlier model a run may start from."""

    value: str  # "run:<id>" or "imported:<id>"
    label: str
    arch: str
    spec: list | None
    path: Path  # the weights file (Lux .safetensors with its model card)
    sha256: str

    def stored(self) -> dict:
        """Return what the new run's config keeps about where it started."""
        kind, _, key = self.value.partition(":")
        return {"kind": kind, "id": int(key), "label": self.label, "arch": self.arch, "file": self.path.name,
                "sha256": self.sha256}


def _runs(user):
    return (TrainingRun.objects.visible_to(user).filter(status=RunStatus.SUCCEEDED,
                                                         artifacts__kind=ModelArtifact.Kind.WEIGHTS)
            .select_related("version__dataset", "network").distinct().order_by("-created_at"))


def _from_run(run: TrainingRun) -> StartFrom | None:
    artifact = run.artifacts.filter(kind=ModelArtifact.Kind.WEIGHTS).order_by("-created_at").first()
    if artifact is None:
        return None
    label = f"{run.name or f'Run {run.pk}'} · {run.arch} · {run.version.dataset.name} v{run.version.number}"
    path = Path(settings.MEDIA_ROOT) / artifact.path
    # Weights saved before their checksum was kept: hash the file, so the new run still records which it was.
    sha256 = artifact.sha256 or (file_sha256(path) if path.is_file() else "")
    return StartFrom(f"run:{run.pk}", label, run.arch, (run.config or {}).get("spec"), path, sha256)


def _from_imported(model: ImportedModel) -> StartFrom:
    return StartFrom(f"imported:{model.pk}", f"{model.name} · {model.arch} (imported)", model.arch, model.spec,
                     Path(model.file.path), model.sha256)


def choices(user) -> list[tuple[str, list[tuple[str, str]]]]:
    """Return the grouped form choices: "Nothing" and the earlier models `user` may start from."""
    runs = [(f"run:{run.pk}", f"{run.name or f'Run {run.pk}'} · {run.arch} · {run.version.dataset.name} "
                              f"v{run.version.number}") for run in _runs(user)]
    imported = [(f"imported:{m.pk}", f"{m.name} · {m.arch} (imported)")
                for m in ImportedModel.objects.visible_to(user).order_by("name")]
    return [("", "Nothing (or ImageNet, above)"), ("Your runs", runs), ("Imported models", imported)]


def resolve(user, value: str) -> StartFrom | None:
    """Return the earlier model `value` names if `user` may start from it, else None (unknown to them)."""
    kind, _, key = str(value or "").partition(":")
    pk = parse_id(key)
    if pk is None:
        return None
    if kind == "run":
        run = _runs(user).filter(pk=pk).first()
        return _from_run(run) if run is not None else None
    if kind == "imported":
        model = ImportedModel.objects.visible_to(user).filter(pk=pk).first()
        return _from_imported(model) if model is not None else None
    return None


def mismatch(start: StartFrom, arch: str, spec: list | None) -> str | None:
    """Return why a run of `arch` (with `spec`, for a custom network) cannot start from `start`, or None."""
    if start.arch != arch:
        return (f"{start.label.split(' · ')[0]} is a {start.arch}; a run can only start from a model of the same "
                f"architecture (this one is {arch}). Choose {start.arch}, or another model.")
    if arch == "custom" and (start.spec or None) != (spec or None):
        return (f"{start.label.split(' · ')[0]} was built with other layers than this network; choose the network "
                "it was trained with.")
    if not start.path.is_file():
        return f"The weights file of {start.label.split(' · ')[0]} is missing from storage."
    return None


def started_from(run: TrainingRun, user) -> dict | None:
    """Return where `run` started, as `user` may see it; None for a run trained from scratch.

    kind "run" or "imported": the earlier model's label, file and SHA-256 (kept at launch), and `url`, its page,
    only while `user` may still see it. kind "imagenet": torchvision's file name and the SHA-256 prefix that
    name carries (the file itself may have been replaced since; the Pretrained weights page checks it).
    """
    config = run.config or {}
    stored = config.get(INIT_FROM_KEY)
    if isinstance(stored, dict) and stored.get("kind"):
        kind, pk = stored.get("kind"), stored.get("id")
        url = None
        if kind == "run" and TrainingRun.objects.visible_to(user).filter(pk=pk).exists():
            url = reverse("run_detail", args=[pk])
        elif kind == "imported" and ImportedModel.objects.visible_to(user).filter(pk=pk).exists():
            url = reverse("classify_model_card", args=["imported", pk])
        return {"kind": kind, "id": pk, "label": stored.get("label", ""), "arch": stored.get("arch", run.arch),
                "file": stored.get("file", ""), "sha256": stored.get("sha256", ""), "sha256_prefix": False,
                "url": url}
    if config.get("pretrained") == "imagenet":
        try:
            filename = weights_file_for(run.arch).filename
        except WeightsError:
            filename = ""
        return {"kind": "imagenet", "id": None, "label": f"ImageNet weights for {run.arch}", "arch": run.arch,
                "file": filename, "sha256": hash_prefix(filename) or "", "sha256_prefix": True,
                "url": reverse("weights_page")}
    return None
