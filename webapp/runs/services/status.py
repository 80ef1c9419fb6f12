"""The small JSON a run page polls: status, progress, the curves so far, warnings, error and timings."""

from __future__ import annotations

from django.utils import timezone

from webapp.runs.models import ACTIVE_STATUSES, EpochMetric, RunStatus, TrainingRun
from webapp.runs.services import health
from webapp.runs.services.conf import has_checkpoint
from webapp.runs.services.control import RESUMABLE

EPOCH_FIELDS = ("epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr", "images_per_s",
                "seconds")
STATUS_LABELS = {
    RunStatus.QUEUED: "Waiting for a worker",
    RunStatus.RUNNING: "Training",
    RunStatus.INTERRUPTED: "Interrupted: its worker stopped; resuming from the last checkpoint",
    RunStatus.SUCCEEDED: "Finished",
    RunStatus.FAILED: "Failed",
    RunStatus.CANCELLED: "Cancelled",
}
PHASE_LABELS = {"cache": "Preparing images", "train": "Training", "val": "Validating",
                "evaluate": "Evaluating on the validation and test splits", "done": "Done"}


def progress_summary(run: TrainingRun) -> dict:
    """Return the progress bar's numbers: phase, epoch k/N, step i/M, images/s, ETA, and a 0-1 fraction."""
    p = dict(run.progress or {})
    epochs, epoch = p.get("epochs") or run.config.get("epochs") or 0, p.get("epoch") or 0
    steps, step = p.get("steps") or 0, p.get("step") or 0
    phase = p.get("phase") or ("done" if run.status == RunStatus.SUCCEEDED else "")
    if phase == "cache":
        fraction = 0.0
    elif phase in ("done", "evaluate") or run.status == RunStatus.SUCCEEDED:
        fraction = 1.0
    elif epochs and phase in ("train", "val"):
        fraction = ((epoch - 1) + (step / steps if steps else 0)) / epochs
    else:
        fraction = 0.0
    return {
        "phase": phase, "phase_label": PHASE_LABELS.get(phase, ""), "epoch": epoch, "epochs": epochs,
        "step": step, "steps": steps, "images_per_s": p.get("images_per_s"), "eta_s": p.get("eta_s"),
        "loss": p.get("loss"), "accuracy": p.get("accuracy"), "lr": p.get("lr"),
        "decoded": p.get("done", 0) if phase == "cache" else None, "to_decode": p.get("total") if phase == "cache"
        else None, "fraction": round(min(max(fraction, 0.0), 1.0), 4), "updated_at": p.get("updated_at"),
    }


# The phases of one attempt, in the order they happen (PostgreSQL's jsonb sorts keys by length).
PHASES = ("cache_s", "fit_s", "evaluate_s", "total_s")


def carried_timings(previous: dict, attempt: int) -> dict:
    """Return the timings a resumed attempt starts with: the earlier attempts' phases, summed, under "earlier".

    A run row keeps one attempt's phases; without this a resumed run would show the latest attempt's fit beside
    a training time that counts every attempt's epochs, and the two would seem to disagree.
    """
    earlier = dict((previous or {}).get("earlier") or {})
    for key in PHASES:
        value = (previous or {}).get(key)
        if isinstance(value, int | float):
            earlier[key] = round(earlier.get(key, 0) + value, 3)
    earlier["attempts"] = attempt - 1
    return {"earlier": earlier}


def timings(run: TrainingRun, now=None) -> dict:
    """Return when the run was created, started and finished, and how long it waited and has taken."""
    now = now or timezone.now()
    end = run.finished_at or (now if run.status in ACTIVE_STATUSES else None)
    return {
        "created_at": run.created_at.isoformat(),
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "waited_s": round(((run.started_at or now) - run.created_at).total_seconds(), 1),
        "elapsed_s": round((end - run.started_at).total_seconds(), 1) if run.started_at and end else None,
        "train_seconds": run.train_seconds,
        "heartbeat_age_s": round((now - run.heartbeat_at).total_seconds(), 1)
        if run.heartbeat_at and run.status == RunStatus.RUNNING else None,
        **{key: value for key, value in (run.timings or {}).items()},
    }


def run_status(run: TrainingRun, *, since_epoch: int = 0) -> dict:
    """Return the run page's live data; `since_epoch` limits the epochs to those after it."""
    run.refresh_from_db()
    epochs = list(EpochMetric.objects.filter(run=run, epoch__gt=since_epoch).order_by("epoch")
                  .values(*EPOCH_FIELDS))
    evaluations = [{"id": e.pk, "split": e.split, "status": e.status, "top1": e.top1, "top5": e.top5,
                    "macro_f1": e.macro_f1, "version_id": e.version_id}
                   for e in run.evaluations.order_by("split", "-created_at")]
    return {
        "id": run.pk,
        "status": run.status,
        "status_label": STATUS_LABELS.get(run.status, run.status),
        "is_active": run.is_active,
        "cancel_requested": run.cancel_requested,
        "can_cancel": run.status in ACTIVE_STATUSES and not (run.status == RunStatus.RUNNING and run.cancel_requested),
        "can_resume": run.status in RESUMABLE and has_checkpoint(run),
        "progress": progress_summary(run),
        "epochs": epochs,
        "best_epoch": run.best_epoch,
        "warnings": list(run.warnings or []),
        "health": health.shown(run.health),
        "error": run.error,
        "traceback": run.traceback if run.status == RunStatus.FAILED else "",
        "worker": run.worker,
        "device": run.device,
        "attempts": run.attempts,
        "timings": timings(run),
        "evaluations": evaluations,
    }
