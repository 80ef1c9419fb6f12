"""Model references: one string names any model Lux can classify with, resolved with ownership checks.

    run:<id>          a succeeded training run's saved weights
    imported:<id>     an imported model (weights uploaded from elsewhere)
    imagenet:<arch>   torchvision's ImageNet weights for <arch>, when the file is in the local torch cache

Pages and the API resolve a reference for a user (a reference they may not see does not exist for
them); the worker receives the resolved `ModelSource` as plain JSON and loads from it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from django.http import Http404

from webapp.core.ids import parse_id
from webapp.runs.models import ModelArtifact, RunStatus, TrainingRun

KINDS = ("run", "imported", "imagenet")


class UnknownModelRef(Http404):
    """The reference is malformed, or names a model the user may not see or that cannot classify."""


@dataclass(frozen=True)
class ModelRef:
    """A parsed model reference: kind and key."""

    kind: str
    key: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.key}"

    @classmethod
    def parse(cls, text: str) -> ModelRef:
        """Return the reference `text` spells, or raise UnknownModelRef."""
        kind, _, key = str(text or "").strip().partition(":")
        if kind not in KINDS or not key or (kind != "imagenet" and parse_id(key) is None):
            raise UnknownModelRef(f"{text!r} is not a model reference (run:<id>, imported:<id> or imagenet:<arch>)")
        return cls(kind, key)


@dataclass(frozen=True)
class ModelSource:
    """Where the worker finds a model: a Lux .safetensors file (MEDIA_ROOT-relative) or an ImageNet arch."""

    ref: str
    label: str
    path: str = ""  # "lux" files: relative to MEDIA_ROOT
    arch: str = ""  # "imagenet": the registry name
    kind: str = "lux"  # "lux" or "imagenet"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> ModelSource:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


def classifiable_runs(user):
    """Return the succeeded runs `user` may see that saved weights, newest first."""
    with_weights = ModelArtifact.objects.filter(kind=ModelArtifact.Kind.WEIGHTS).values("run_id")
    return (TrainingRun.objects.visible_to(user).filter(status=RunStatus.SUCCEEDED, pk__in=with_weights)
            .select_related("version__dataset").order_by("-created_at"))


def run_label(run: TrainingRun) -> str:
    """Return how a run is named in model lists."""
    name = run.name or f"Run {run.pk}"
    return f"{name} · {run.arch} on {run.version}"


def weights_of(run: TrainingRun) -> ModelArtifact | None:
    return run.artifacts.filter(kind=ModelArtifact.Kind.WEIGHTS).order_by("-created_at").first()


def _resolve_run(user, key: str) -> ModelSource:
    run = classifiable_runs(user).filter(pk=int(key)).first()
    artifact = weights_of(run) if run else None
    if artifact is None:
        raise UnknownModelRef("No such finished run with saved weights.")
    return ModelSource(ref=f"run:{run.pk}", label=run_label(run), path=artifact.path)


def _resolve_imported(user, key: str) -> ModelSource:
    from webapp.classify.models import ImportedModel

    imported = ImportedModel.objects.visible_to(user).filter(pk=int(key)).first()
    if imported is None:
        raise UnknownModelRef("No such imported model.")
    return ModelSource(ref=imported.ref, label=f"{imported.name} · imported {imported.arch}", path=imported.file.name)


def _resolve_imagenet(user, key: str) -> ModelSource:
    if key not in imagenet_available():
        raise UnknownModelRef(f"ImageNet weights for {key!r} are not on this machine.")
    return ModelSource(ref=f"imagenet:{key}", label=f"{key} · ImageNet (1000 classes)", arch=key, kind="imagenet")


_RESOLVERS = {"run": _resolve_run, "imported": _resolve_imported, "imagenet": _resolve_imagenet}


def resolve(user, text: str) -> ModelSource:
    """Return where to load the model `text` names, if `user` may use it; else raise UnknownModelRef."""
    ref = ModelRef.parse(text)
    return _RESOLVERS[ref.kind](user, ref.key)


def imagenet_available() -> list[str]:
    """Return the architectures whose torchvision ImageNet weights are in the local torch cache."""
    from classifier.pretrained import available_imagenet_weights

    return sorted(available_imagenet_weights())


def imagenet_help() -> dict:
    """Return which file to put where to offer an ImageNet model (resnet18 as the example)."""
    from classifier.pretrained import imagenet_weights_path
    from classifier.registry import model_info

    path = imagenet_weights_path("resnet18")
    return {"folder": str(path.parent), "example_file": path.name,
            "example_weights": model_info("resnet18").imagenet_weights}


def choices(user) -> list[tuple[str, list[tuple[str, str]]]]:
    """Return grouped (value, label) choices of every model `user` may classify with."""
    from webapp.classify.models import ImportedModel

    runs = [(f"run:{run.pk}", run_label(run)) for run in classifiable_runs(user)]
    imported = [(m.ref, f"{m.name} · imported {m.arch}") for m in ImportedModel.objects.visible_to(user)]
    imagenet = [(f"imagenet:{arch}", f"{arch} · ImageNet (1000 classes)") for arch in imagenet_available()]
    groups = [("Training runs", runs), ("Imported models", imported), ("ImageNet", imagenet)]
    return [(label, options) for label, options in groups if options]


def flat_choices(user) -> list[tuple[str, str]]:
    """Return every (value, label) of choices(user) in one list."""
    return [option for _, options in choices(user) for option in options]
