"""The runs app's job kinds for the reaper (webapp.core.reaping): training runs and evaluations.

A run whose worker died (a stale heartbeat) is interrupted and requeued to resume from its last checkpoint,
a few times at most, through the lifecycle transitions; an evaluation is requeued to start over. Each worker
starts the reaper when it is ready (webapp.runs.tasks connects it to celery's worker_ready).
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.urls import reverse
from django.utils import timezone

from webapp.core import reaping
from webapp.core.reaping import ColumnKind, Held, Waiting
from webapp.runs.models import Evaluation, EvaluationStatus, RunStatus, TrainingRun
from webapp.runs.services import conf, lifecycle

log = logging.getLogger(__name__)


class RunKind(ColumnKind):
    """Training runs: a requeued run is `interrupted` and resumes from its checkpoint; the page shows why."""

    name = "runs"
    noun = "run"
    model = TrainingRun
    task = "webapp.runs.tasks.train_run"
    waiting = (RunStatus.QUEUED, RunStatus.INTERRUPTED)

    def stale_after_s(self):
        return conf.stale_after_s()

    def max_attempts(self):
        return conf.max_attempts()

    def page_url(self, pk):
        return reverse("run_detail", args=[pk])

    def send(self, pk, token):
        from webapp.runs.tasks import train_run

        queue = TrainingRun.objects.filter(pk=pk).values_list("queue", flat=True).first() or conf.run_queue()
        train_run.apply_async(args=[pk], task_id=token, queue=queue)

    def queued_fields(self, token):
        return {"task_id": token, "sent_at": None, "queued_at": timezone.now()}

    def _lost(self, held: Held, now: datetime) -> str:
        silent = (now - held.heartbeat_at).total_seconds() if held.heartbeat_at else float("nan")
        return f"the worker {held.worker or '(unknown)'} stopped responding (no heartbeat for {silent:.0f} s)"

    def _still_stale(self, held: Held) -> dict:
        return {"heartbeat_at": held.heartbeat_at, "attempts": held.attempts}  # unchanged since the reaper looked

    def requeue(self, held, token):
        now = timezone.now()
        lost = self._lost(held, now)
        if not lifecycle.transition(held.pk, "interrupt", only_if=self._still_stale(held),
                                    error=f"Interrupted: {lost}; queued to resume from its last checkpoint.",
                                    queue=getattr(held.row, "queue", "") or conf.run_queue(),
                                    **self.queued_fields(token)):
            return False
        _note(held.pk, f"Attempt {held.attempts} was interrupted: {lost}; resumed from the last checkpoint.")
        return True

    def end(self, held, outcome, reason):
        now = timezone.now()
        if outcome == "cancelled":
            if not lifecycle.transition(held.pk, "stop_cancelled", only_if=self._still_stale(held), finished_at=now):
                return False
            _note(held.pk, reason)
            return True
        return lifecycle.transition(held.pk, "give_up", only_if=self._still_stale(held), finished_at=now, error=reason)

    def gave_up_reason(self, held, now):
        return (f"Gave up after {held.attempts} attempts: {self._lost(held, now)}. The last checkpoint is kept; "
                "resume the run to try again.")

    def cancelled_reason(self, held, now):
        return f"Cancelled: {self._lost(held, now)} after the cancel was asked for; the last checkpoint is kept."

    def give_up_send(self, waiting: Waiting, reason: str) -> bool:
        return lifecycle.transition(waiting.pk, "unsent", only_if={"task_id": waiting.token, "sent_at": None},
                                    finished_at=timezone.now(), error=reason)

    def cancel_orphan(self, pk):
        """End a running run whose worker stopped beating as cancelled, at once (its checkpoint is kept)."""
        run = TrainingRun.objects.filter(pk=pk, status=RunStatus.RUNNING).first()
        now = timezone.now()
        if run is None or (run.heartbeat_at and (now - run.heartbeat_at).total_seconds() < self.stale_after_s()):
            return False
        held = Held(run.pk, run.attempts, run.worker, run.heartbeat_at, True, run)
        if not lifecycle.transition(pk, "stop_cancelled", only_if=self._still_stale(held), finished_at=now,
                                    cancel_requested=True):
            return False
        _note(pk, f"Cancelled at once: {self._lost(held, now)}, so no worker was running it.")
        return True


class EvaluationKind(ColumnKind):
    """Evaluations asked for on a finished run: requeued to start over when their worker dies."""

    name = "evaluations"
    noun = "evaluation"
    model = Evaluation
    task = "webapp.runs.tasks.evaluate_run"
    waiting = (EvaluationStatus.QUEUED,)

    def stale_after_s(self):
        return conf.stale_after_s()

    def max_attempts(self):
        return conf.max_attempts()

    def queue(self):
        return conf.run_queue()

    def page_url(self, pk):
        return reverse("evaluation_detail", args=[pk])


RUNS = reaping.register(RunKind())
EVALUATIONS = reaping.register(EvaluationKind())


def reap_stale_runs(*, stale_after_s: float | None = None, max_attempts: int | None = None, now=None) -> dict:
    """Interrupt and requeue running runs with a stale heartbeat, fail those out of attempts, and requeue
    evaluations whose worker died. Return the ids of each."""
    now = now or timezone.now()
    options = {"stale_after_s": stale_after_s, "max_attempts": max_attempts}
    outcome = RUNS.reap_stale(now, **options)
    evaluations = EVALUATIONS.reap_stale(now, **options)
    outcome.update(evaluations_requeued=evaluations["requeued"], evaluations_failed=evaluations["failed"])
    if any(outcome.values()):
        log.warning("reaper: %s", outcome)
    return outcome


def _note(run_id: int, message: str) -> None:
    """Append a warning the run page shows."""
    warnings = TrainingRun.objects.filter(pk=run_id).values_list("warnings", flat=True).first() or []
    TrainingRun.objects.filter(pk=run_id).update(warnings=[*warnings, message])
