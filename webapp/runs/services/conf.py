"""Run settings: read from Django settings when set there, else from the environment (see .env.example)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from webapp.celery import GPU_QUEUE
from webapp.env import env_int, env_str

# name -> (environment reader, default)
_INTS = {
    "LUX_RUN_STALE_AFTER_S": 60,  # a running run whose heartbeat is older than this lost its worker
    "LUX_RUN_MAX_ATTEMPTS": 3,  # starts (first + crash resumes) before a crashing run is failed
    "LUX_RUN_REAPER_INTERVAL_S": 30,  # how often each worker looks for runs that lost their worker
}


def _int(name: str) -> int:
    value = getattr(settings, name, None)
    return int(value) if value is not None else env_int(name, _INTS[name], minimum=1)


def stale_after_s() -> int:
    """Return after how many seconds without a heartbeat a running run counts as crashed."""
    return _int("LUX_RUN_STALE_AFTER_S")


def max_attempts() -> int:
    """Return how many times a run may start (crash resumes included) before it is failed."""
    return _int("LUX_RUN_MAX_ATTEMPTS")


def reaper_interval_s() -> int:
    """Return the seconds between two looks for crashed runs in each worker."""
    return _int("LUX_RUN_REAPER_INTERVAL_S")


def heartbeat_interval_s() -> float:
    """Return how often a running task writes its heartbeat: several beats fit in the stale window."""
    return max(0.5, min(10.0, stale_after_s() / 6))


def run_queue() -> str:
    """Return the queue new training and evaluation tasks go to (gpu unless LUX_RUN_QUEUE names another)."""
    return getattr(settings, "LUX_RUN_QUEUE", None) or env_str("LUX_RUN_QUEUE") or GPU_QUEUE


def cache_dir() -> Path:
    """Return the folder of decoded-image caches, shared by every run (keyed by version and size)."""
    return Path(settings.DATA_DIR) / "cache"


def run_dir(run) -> Path:
    """Return the absolute folder of a run's checkpoints and weights, under MEDIA_ROOT."""
    return Path(settings.MEDIA_ROOT) / (run.output_dir or f"runs/{run.pk}")


def has_checkpoint(run) -> bool:
    """Return True when the run's folder holds a checkpoint to continue from."""
    folder = run_dir(run) / "checkpoints"
    return folder.is_dir() and any(p.name.startswith("epoch_") and p.suffix == ".pt" for p in folder.iterdir())


def device_choice(config_device: str) -> str:
    """Return the device to train on: the run's explicit choice, else the worker's LUX_DEVICE."""
    return config_device if config_device in ("cpu", "cuda") else settings.LUX_DEVICE
