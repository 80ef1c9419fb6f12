"""Find runs whose worker died (a stale heartbeat) and requeue them to resume, a few times at most.

Decided from database rows alone (heartbeat ages, attempts, live Worker rows), through the lifecycle
transitions. Each worker starts the loop when it is ready (webapp.runs.tasks connects start_reaper to
celery's worker_ready) and it looks every LUX_RUN_REAPER_INTERVAL_S seconds from a daemon thread: the
embedded default has no beat scheduler.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

from django.db import close_old_connections
from django.utils import timezone

from webapp.core.models import Worker
from webapp.runs.models import Evaluation, EvaluationStatus, RunStatus, TrainingRun
from webapp.runs.services import conf, lifecycle
from webapp.runs.services.control import enqueue_run
from webapp.runs.services.evaluations import enqueue_evaluation

log = logging.getLogger(__name__)
_started = threading.Event()


def reap_stale_runs(*, stale_after_s: float | None = None, max_attempts: int | None = None, now=None) -> dict:
    """Interrupt and requeue running runs with a stale heartbeat, fail those out of attempts, and requeue
    evaluations whose worker died. Return the ids of each."""
    now = now or timezone.now()
    stale_after_s = conf.stale_after_s() if stale_after_s is None else stale_after_s
    max_attempts = conf.max_attempts() if max_attempts is None else max_attempts
    cutoff = now - timedelta(seconds=stale_after_s)
    outcome = {"requeued": [], "failed": [], "cancelled": []}
    for run in TrainingRun.objects.filter(status=RunStatus.RUNNING, heartbeat_at__lt=cutoff):
        silent = (now - run.heartbeat_at).total_seconds()
        still_stale = {"heartbeat_at__lt": cutoff, "attempts": run.attempts}  # unchanged since we looked
        lost = f"the worker {run.worker or '(unknown)'} stopped responding (no heartbeat for {silent:.0f} s)"
        if run.cancel_requested:
            if lifecycle.transition(run.pk, "stop_cancelled", only_if=still_stale, finished_at=now):
                _note(run, f"Cancelled: {lost} after the cancel was asked for; the last checkpoint is kept.")
                outcome["cancelled"].append(run.pk)
        elif run.attempts >= max_attempts:
            reason = (f"Gave up after {run.attempts} attempts: {lost}. The last checkpoint is kept; "
                      "resume the run to try again.")
            if lifecycle.transition(run.pk, "give_up", only_if=still_stale, finished_at=now, error=reason):
                outcome["failed"].append(run.pk)
        elif lifecycle.transition(run.pk, "interrupt", only_if=still_stale,
                                  error=f"Interrupted: {lost}; queued to resume from its last checkpoint."):
            _note(run, f"Attempt {run.attempts} was interrupted: {lost}; resumed from the last checkpoint.")
            enqueue_run(run)
            outcome["requeued"].append(run.pk)
    outcome.update(reap_orphaned_evaluations(now=now, stale_after_s=stale_after_s, max_attempts=max_attempts))
    if any(outcome.values()):
        log.warning("reaper: %s", outcome)
    return outcome


def reap_orphaned_evaluations(*, now, stale_after_s: float, max_attempts: int) -> dict:
    """Requeue running evaluations whose worker stopped beating (core's Worker rows); fail repeat offenders."""
    alive = Worker.objects.alive().values_list("hostname", flat=True)
    started_before = now - timedelta(seconds=stale_after_s)
    outcome = {"evaluations_requeued": [], "evaluations_failed": []}
    orphans = Evaluation.objects.filter(status=EvaluationStatus.RUNNING, started_at__lt=started_before).exclude(
        worker__in=list(alive))
    for evaluation in orphans:
        unchanged = {"attempts": evaluation.attempts, "worker": evaluation.worker}
        if evaluation.attempts >= max_attempts:
            reason = f"Gave up after {evaluation.attempts} attempts: the worker {evaluation.worker} stopped."
            if lifecycle.evaluation_transition(evaluation.pk, "fail", only_if=unchanged, error=reason):
                outcome["evaluations_failed"].append(evaluation.pk)
        elif lifecycle.evaluation_transition(evaluation.pk, "requeue", only_if=unchanged, worker=""):
            enqueue_evaluation(evaluation)
            outcome["evaluations_requeued"].append(evaluation.pk)
    return outcome


def _note(run: TrainingRun, message: str) -> None:
    """Append a warning the run page shows."""
    warnings = TrainingRun.objects.filter(pk=run.pk).values_list("warnings", flat=True).first() or []
    TrainingRun.objects.filter(pk=run.pk).update(warnings=[*warnings, message])


def _loop(interval: float) -> None:
    while True:
        try:
            close_old_connections()
            reap_stale_runs()
        except Exception:  # a failed look is retried at the next interval
            log.exception("reaper failed")
        time.sleep(interval)


def start_reaper() -> None:
    """Start this process's reaper thread (once): a look now, then one every LUX_RUN_REAPER_INTERVAL_S."""
    if _started.is_set():
        return
    _started.set()
    threading.Thread(target=_loop, args=(conf.reaper_interval_s(),), name="run-reaper", daemon=True).start()
