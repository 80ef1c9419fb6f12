"""Launching a run: the one path from a validated launch request to a queued run, for the page and the API."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from training.config import TrainConfig
from webapp.datasets.models import Dataset, DatasetVersion
from webapp.runs.models import CustomNetwork, TrainingRun
from webapp.runs.services import datasets
from webapp.runs.services.control import enqueue_run


@dataclass
class LaunchRequest:
    """A validated launch (what LaunchForm settled): the data, the architecture and the full config."""

    dataset: Dataset
    version: DatasetVersion | None  # None: the latest version, frozen anew at launch if the dataset changed
    network: CustomNetwork | None
    config: TrainConfig
    arch_label: str
    name: str = ""  # empty: one is made up from the architecture and the data
    notes: str = ""


def launch_run(user, request: LaunchRequest) -> TrainingRun:
    """Create the queued run (freezing a new version if the dataset changed) and send it to a worker."""
    with transaction.atomic():
        version = request.version or datasets.version_for_launch(request.dataset, user=user)
        name = request.name or f"{request.arch_label} on {version.dataset.name} v{version.number}"
        run = TrainingRun.objects.create(
            owner=user, name=name[:200], version=version, arch=request.config.arch, network=request.network,
            config=request.config.to_dict(), notes=request.notes)
        run.output_dir = f"runs/{run.pk}"
        run.save(update_fields=["output_dir"])
        enqueue_run(run)
    return run
