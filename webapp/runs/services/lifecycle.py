"""Every status change of a run and an evaluation, in one place: each an atomic UPDATE ... WHERE status IN (...).

A worker that claims a run holds a lease: (run id, attempt number). Every write it makes afterwards is
filtered by that lease, so a worker that lost its run (the reaper gave it to another) changes nothing.
"""

from __future__ import annotations

import math
import traceback as tb
from dataclasses import dataclass

from django.db.models import DateTimeField, F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from webapp.runs.models import EpochMetric, Evaluation, EvaluationStatus, RunStatus, TrainingRun

TRACEBACK_LIMIT = 20_000  # characters of a traceback kept: the end, where the cause is
ERROR_LIMIT = 2_000

Q_, RUN_, INT_ = RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.INTERRUPTED
# name -> (statuses it may start from, status it ends in)
RUN_TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "claim": ((Q_, INT_), RUN_),  # a worker starts (or resumes) it
    "succeed": ((RUN_,), RunStatus.SUCCEEDED),
    "stop_cancelled": ((RUN_,), RunStatus.CANCELLED),  # the engine stopped at the user's request
    "fail": ((RUN_,), RunStatus.FAILED),
    "cancel_waiting": ((Q_, INT_), RunStatus.CANCELLED),  # cancelled before a worker took it
    "interrupt": ((RUN_,), INT_),  # the reaper: its worker died; requeued to resume
    "give_up": ((RUN_, INT_), RunStatus.FAILED),  # the reaper: crashed too often
    "unsent": ((Q_, INT_), RunStatus.FAILED),  # the reaper: its task never reached the broker
    "requeue": ((RunStatus.CANCELLED, RunStatus.FAILED, INT_), Q_),  # the user resumes it
}
EVALUATION_TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "claim": ((EvaluationStatus.QUEUED,), EvaluationStatus.RUNNING),
    "succeed": ((EvaluationStatus.RUNNING,), EvaluationStatus.SUCCEEDED),
    "fail": ((EvaluationStatus.QUEUED, EvaluationStatus.RUNNING), EvaluationStatus.FAILED),
    "requeue": ((EvaluationStatus.RUNNING,), EvaluationStatus.QUEUED),  # the reaper: its worker died
}


def transition(run_id: int, name: str, *, only_if: dict | None = None, **fields) -> bool:
    """Move run `run_id` through transition `name` if its status (and `only_if`) still allow; return success."""
    sources, target = RUN_TRANSITIONS[name]
    rows = TrainingRun.objects.filter(pk=run_id, status__in=sources, **(only_if or {}))
    return rows.update(status=target, **fields) == 1


def evaluation_transition(evaluation_id: int, name: str, *, only_if: dict | None = None, **fields) -> bool:
    """Move an evaluation through transition `name` if its status (and `only_if`) still allow; return success."""
    sources, target = EVALUATION_TRANSITIONS[name]
    rows = Evaluation.objects.filter(pk=evaluation_id, status__in=sources, **(only_if or {}))
    return rows.update(status=target, **fields) == 1


@dataclass(frozen=True)
class Lease:
    """The right to write to a running run: valid while it is running under this attempt."""

    run_id: int
    attempt: int

    def rows(self):
        return TrainingRun.objects.filter(pk=self.run_id, status=RunStatus.RUNNING, attempts=self.attempt)


def claim(run_id: int, *, worker: str, device: str, token: str | None = None) -> Lease | None:
    """Take a queued or interrupted run for this worker; return None if it is not (or no longer) claimable.

    `token` is the task id of the message asking: a message the run no longer names (a late redelivery
    after the reaper sent a newer one) claims nothing. None (a direct call) skips that check.
    """
    now = timezone.now()
    claimed = transition(
        run_id, "claim", only_if={"task_id__in": (token, "")} if token else None, attempts=F("attempts") + 1,
        worker=worker[:255], device=device[:100], heartbeat_at=now,
        started_at=Coalesce(F("started_at"), Value(now, output_field=DateTimeField())), finished_at=None,
        error="", traceback="")
    if not claimed:
        return None
    attempt = TrainingRun.objects.filter(pk=run_id).values_list("attempts", flat=True).first()
    return Lease(run_id, attempt)


def beat(lease: Lease) -> bool:
    """Write the heartbeat; return False when the lease is lost."""
    return lease.rows().update(heartbeat_at=timezone.now()) == 1


def write_progress(lease: Lease, progress: dict) -> bool:
    """Store the latest progress snapshot (it doubles as a heartbeat); return False when the lease is lost."""
    return lease.rows().update(progress=progress, heartbeat_at=timezone.now()) == 1


def cancel_wanted(lease: Lease) -> bool | None:
    """Return whether the user asked to cancel, or None when the lease is lost."""
    return lease.rows().values_list("cancel_requested", flat=True).first()


def record_epochs(run_id: int, epochs: list[dict]) -> None:
    """Store epoch rows; an epoch already stored (a resumed run repeating a report) is left as it is."""
    fields = {f.name for f in EpochMetric._meta.concrete_fields} - {"id", "run"}
    EpochMetric.objects.bulk_create(
        # NaN and infinity become missing values: PostgreSQL would keep them, and every chart and JSON choke on them.
        [EpochMetric(run_id=run_id, **{k: _finite(v) for k, v in e.items() if k in fields}) for e in epochs],
        ignore_conflicts=True)


def _finite(value):
    return None if isinstance(value, float) and not math.isfinite(value) else value


def finish(lease: Lease, name: str, **fields) -> bool:
    """End the leased run through transition `name` ("succeed", "stop_cancelled" or "fail")."""
    return transition(lease.run_id, name, only_if={"attempts": lease.attempt}, finished_at=timezone.now(),
                      **fields)


def error_fields(exc: BaseException) -> dict:
    """Return the error message and the capped traceback to store for `exc`."""
    message = str(exc) or type(exc).__name__
    text = "".join(tb.format_exception(exc))
    if len(text) > TRACEBACK_LIMIT:
        text = "... (start cut)\n" + text[-TRACEBACK_LIMIT:]
    return {"error": message[:ERROR_LIMIT], "traceback": text}


def fail(lease: Lease, exc: BaseException, *, prefix: str = "") -> bool:
    """Mark the leased run failed with the error and its capped traceback."""
    fields = error_fields(exc)
    fields["error"] = (prefix + fields["error"])[:ERROR_LIMIT]
    return finish(lease, "fail", **fields)
