"""Launching a run: the one path from a validated launch request to a queued run, for the page and the API."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from training.config import TrainConfig
from webapp.datasets.models import Dataset, DatasetVersion
from webapp.runs.models import CustomNetwork, TrainingRun
from webapp.runs.services import datasets
from webapp.runs.services.control import enqueue_run
from webapp.runs.services.init_from import INIT_FROM_KEY
from webapp.runs.services.recipes import GPUS_KEY, RECIPE_KEY


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
    recipe: str = ""  # why the settings are what they are, in one line (kept in the run's config)
    init_from: dict | None = None  # the earlier model it starts from (init_from.StartFrom.stored())
    gpus: int = 1  # devices of one worker it trains on together (one rank each)


def launch_run(user, request: LaunchRequest) -> TrainingRun:
    """Create the queued run (freezing a new version if the dataset changed) and send it to a worker.

    The run is committed before it is sent: when the broker is unreachable it stays saved and queued,
    QueueUnreachable says so (the API answers 503, the page shows the run with a warning), and the reaper
    sends it once the broker is back.
    """
    with transaction.atomic():
        version = request.version or datasets.version_for_launch(request.dataset, user=user)
        name = request.name or f"{request.arch_label} on {version.dataset.name} v{version.number}"
        run = TrainingRun.objects.create(
            owner=user, name=name[:200], version=version, arch=request.config.arch, network=request.network,
            config=_stored_config(request), notes=request.notes)
        run.output_dir = f"runs/{run.pk}"
        run.save(update_fields=["output_dir"])
        enqueue_run(run)
    return run


def _stored_config(request: LaunchRequest) -> dict:
    """Return the config a run keeps: every TrainConfig setting, and the recipe's line when there is one."""
    config = request.config.to_dict()
    if request.recipe:
        config[RECIPE_KEY] = request.recipe
    if request.init_from:
        config[INIT_FROM_KEY] = request.init_from
    if request.gpus > 1:  # kept only when asked, so a one-device run's config stays what it was
        config[GPUS_KEY] = request.gpus
    return config
