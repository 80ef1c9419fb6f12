"""Retrain with the new labels: freeze the dataset as it is now and launch a run on it, starting from a run.

This closes the loop confusion matrix → gallery → relabel → better model: the new run has the earlier run's
architecture and settings, trains on a version frozen from the dataset's current labels, and starts from the
earlier run's weights (classes both know by name keep their head rows, classifier.transfer).
"""

from __future__ import annotations

from webapp.core.errors import FieldError
from webapp.runs.models import ModelArtifact, RunStatus, TrainingRun
from webapp.runs.services import datasets, init_from
from webapp.runs.services.control import rerun_initial
from webapp.runs.services.launch import launch_run
from webapp.runs.services.recipes import GPUS_KEY


class RetrainError(FieldError):
    """The run cannot be retrained from (not succeeded, no weights, or data that cannot train); says why."""

    status = 409


def can_retrain(run: TrainingRun | None) -> bool:
    """Return True when the page should offer "Retrain with the new labels": `run` succeeded and kept its weights."""
    return (run is not None and run.status == RunStatus.SUCCEEDED
            and run.artifacts.filter(kind=ModelArtifact.Kind.WEIGHTS).exists())


def retrain_data(run: TrainingRun) -> dict:
    """Return the launch-form data of the retrain: `run`'s settings, the dataset's latest state, starting from it."""
    data = rerun_initial(run)
    data.update(dataset=run.version.dataset_id, version=None, pretrained=False, start_from=f"run:{run.pk}",
                name=f"{run.name or f'Run {run.pk}'} (retrained)"[:200], gpus=(run.config or {}).get(GPUS_KEY))
    _, per_class = datasets.counts_for_launch(run.version.dataset)
    train_total = sum(counts.get("train", 0) for counts in per_class.values())
    if data.get("batch_size") and train_total and data["batch_size"] > train_total:
        del data["batch_size"]  # the earlier batch no longer fits the data: the form shrinks it, as at launch
    return {key: value for key, value in data.items() if value is not None}


def retrain(user, run: TrainingRun) -> TrainingRun:
    """Launch a run on the dataset's current state (frozen now if it changed), starting from `run`; return it.

    Raises RetrainError, having saved nothing, when `run` did not succeed, has no weights, or the dataset's
    classes and splits can no longer train a classifier.
    """
    from webapp.runs.forms import LaunchForm  # forms import the services: load it when asked

    run.refresh_from_db(fields=["status"])
    if run.status != RunStatus.SUCCEEDED:
        raise RetrainError(f"This run is {run.get_status_display().lower()}; only a run that succeeded has a "
                           "model to start from. Resume or re-run it first.")
    start = init_from.resolve(user, f"run:{run.pk}")
    if start is None or not start.path.is_file():
        raise RetrainError("This run has no weights file to start from (it was never saved, or was removed); "
                           "re-run it instead.")
    form = LaunchForm(data=retrain_data(run), user=user)
    if not form.is_valid():
        problems = [message for messages in form.errors.values() for message in messages]
        raise RetrainError(f"Cannot retrain from this run on “{run.version.dataset.name}” as it is now: "
                           + " ".join(problems))
    return launch_run(user, form.resolved)
