"""A run's health: training.health.check_run() on its curves and final evaluation, kept on the run row.

The worker refreshes it after every epoch (a partial history: `finished=False`) and once more after the final
evaluation; a run that diverged gets its warning from the engine's error. Pages, the status JSON and the API
read `TrainingRun.health`; "Re-run with the suggested settings" launches the same run with the warnings'
`suggested` overrides.
"""

from __future__ import annotations

import math
from typing import Any

from training.batches import steps_per_epoch
from training.config import ConfigError, TrainConfig, defaults_for
from training.health import SGD_LR, HealthWarning, check_run
from webapp.core.errors import FieldError
from webapp.runs.models import EpochMetric, TrainingRun
from webapp.runs.services.init_from import INIT_FROM_KEY
from webapp.runs.services.launch import LaunchRequest, launch_run
from webapp.runs.services.recipes import train_settings

HISTORY_FIELDS = ("epoch", "train_loss", "val_loss", "val_accuracy")


def finite(value: Any) -> Any:
    """Return `value` with every NaN or infinity (at any depth) replaced by None: JSON columns refuse them."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [finite(item) for item in value]
    return value


def history(run_id: int) -> list[dict]:
    """Return the run's stored epochs as check_run() reads them (numbered from 1, as the engine reports them)."""
    return list(EpochMetric.objects.filter(run_id=run_id).order_by("epoch").values(*HISTORY_FIELDS))


def run_warnings(run: TrainingRun, *, num_classes: int, train_images: int, val_images: int,
                 evaluation: dict | None = None, class_names=None, finished: bool = True) -> list[dict]:
    """Return check_run()'s warnings for `run` as JSON-ready dicts, from its stored epochs and `evaluation`.

    `evaluation` is the final test (else validation) metrics with its confusion matrix; without it the
    validation accuracy stands in. `finished=False` while the run is still training.
    """
    config = train_settings(run.config or {})
    steps = None
    if config.get("batch_size") and config.get("epochs") and train_images:
        steps = steps_per_epoch(train_images, int(config["batch_size"])) * int(config["epochs"])
    confusion = (evaluation or {}).get("confusion_matrix")
    warnings = check_run(history(run.pk), num_classes=num_classes, config=config, steps=steps,
                         confusion=confusion, val_size=val_images or None,
                         class_names=class_names, finished=finished)
    return [finite(w.to_dict()) for w in warnings]


def diverged_warning(run: TrainingRun, error: str) -> dict:
    """Return the warning for a run whose loss became NaN or infinite: the learning rate, ten times lower."""
    config = train_settings(run.config or {})
    lr = config.get("lr")
    typical = _typical_lr(config)
    suggested = {"lr": float(f"{min(lr / 10, typical) if typical else lr / 10:.2g}")} if lr else {}
    return finite(HealthWarning(
        code="diverged",
        message=f"Training stopped because the loss stopped being a number ({error.split(';')[0]}).",
        cause="The learning rate is too high: each step overshoots until the numbers overflow.",
        setting="lr", suggested=suggested).to_dict())


def suggested_settings(warnings: list[dict]) -> dict[str, Any]:
    """Return the warnings' suggested overrides merged, the most important warning's value winning."""
    merged: dict[str, Any] = {}
    for warning in warnings or []:
        for key, value in (warning.get("suggested") or {}).items():
            merged.setdefault(key, value)
    return merged


def _typical_lr(config: dict) -> float | None:
    """Return the usual peak learning rate for the run's optimizer and architecture."""
    if config.get("optimizer") == "sgd":
        return SGD_LR["pretrained" if config.get("pretrained") else "scratch"]
    try:
        return defaults_for(config.get("arch", ""))["lr"]
    except KeyError:
        return None


class RerunError(FieldError):
    """The run cannot be re-run with suggested settings (there are none, or they no longer validate)."""

    status = 409


def rerun_with_suggestions(user, run: TrainingRun) -> TrainingRun:
    """Launch `run` again on the same data version with its health warnings' suggested settings; return it."""
    suggested = suggested_settings(run.health)
    if not suggested:
        raise RerunError("This run's health check suggests no setting to change.")
    config = train_settings(run.config or {})
    try:
        new = TrainConfig.from_dict({**config, **suggested})
    except ConfigError as exc:
        raise RerunError(f"The suggested settings do not work for this run: {exc}") from exc
    changes = ", ".join(f"{key.replace('_', ' ')} {_shown(config.get(key))} → {_shown(value)}"
                        for key, value in suggested.items())
    label = run.network.name if run.network else run.arch
    request = LaunchRequest(
        dataset=run.version.dataset, version=run.version, network=run.network, config=new, arch_label=label,
        name=f"{run.name or label} (suggested settings)"[:200], notes=run.notes,
        recipe=f"Re-run of run {run.pk} with its health check's suggestions: {changes}.",
        init_from=(run.config or {}).get(INIT_FROM_KEY))
    return launch_run(user, request)


def _shown(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def shown(warnings: list[dict]) -> list[dict]:
    """Return the warnings with `change`: the setting to change and its suggested value, in words."""
    out = []
    for warning in warnings or []:
        suggested = warning.get("suggested") or {}
        if suggested:
            change = "Set " + ", ".join(f"{key.replace('_', ' ')} to {_shown(value)}"
                                        for key, value in suggested.items())
        elif warning.get("setting"):
            change = f"Change {warning['setting'].replace('_', ' ')}"
        else:
            change = ""
        out.append({**warning, "change": change})
    return out


def can_rerun(run: TrainingRun) -> bool:
    """Return True when the finished run's health check suggests settings for a re-run."""
    return not run.is_active and bool(suggested_settings(run.health))
