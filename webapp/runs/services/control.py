"""What a user does to a run after launching it: cancel, resume, re-run; and sending it to a worker."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from webapp.core import reaping
from webapp.runs.models import RunStatus, TrainingRun
from webapp.runs.services import conf, lifecycle
from webapp.runs.services.architectures import CONFIG_FIELDS, NETWORK_PREFIX

log = logging.getLogger(__name__)
RESUMABLE = (RunStatus.CANCELLED, RunStatus.FAILED, RunStatus.INTERRUPTED)


class RunStateError(Exception):
    """The run is not in a state that allows the action; the message says why, for a person."""


def enqueue_run(run: TrainingRun, *, quiet: bool = False) -> None:
    """Send the run's training task to its queue, under a new attempt token, once the transaction commits.

    When the broker is unreachable the run stays queued and unsent, for the reaper to send later; that
    raises QueueUnreachable (a 503 for the person launching), unless `quiet`.
    """
    from webapp.runs.services.reaper import RUNS

    token = reaping.new_token()
    queue = run.queue or conf.run_queue()
    TrainingRun.objects.filter(pk=run.pk).update(queue=queue, **RUNS.queued_fields(token))
    run.task_id, run.queue = token, queue
    reaping.send_on_commit(RUNS, run.pk, token, quiet=quiet)


def cancel_run(run: TrainingRun) -> None:
    """Cancel a waiting run at once, or ask a running one to stop (it keeps its checkpoint).

    A running run whose worker stopped beating is cancelled at once: no worker would ever read the flag.
    """
    from webapp.runs.services.reaper import RUNS

    for _ in range(3):  # the status may change under us (queued -> running); follow it
        run.refresh_from_db(fields=["status", "task_id"])
        if run.status in (RunStatus.QUEUED, RunStatus.INTERRUPTED):
            if lifecycle.transition(run.pk, "cancel_waiting", finished_at=timezone.now(), cancel_requested=True):
                _revoke(run.task_id)
                return
        elif run.status == RunStatus.RUNNING:
            if RUNS.cancel_orphan(run.pk):
                return
            if TrainingRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING).update(cancel_requested=True):
                return
        else:
            raise RunStateError(f"This run is {run.status}; only a queued or running run can be cancelled.")
    raise RunStateError("The run changed state while cancelling; try again.")


def _revoke(task_id: str) -> None:
    """Tell workers to drop the task (best effort: a task that still starts finds the run cancelled and exits)."""
    if not task_id:
        return
    try:
        from webapp.celery import app

        app.control.revoke(task_id)
    except Exception:  # the broker may not carry broadcasts; the claim check covers it
        log.warning("could not revoke task %s", task_id, exc_info=True)


def resume_run(run: TrainingRun) -> None:
    """Queue a cancelled, failed or interrupted run to continue from its last checkpoint."""
    run.refresh_from_db()
    if run.status not in RESUMABLE:
        raise RunStateError(f"This run is {run.status}; only a cancelled, failed or interrupted run can resume.")
    if not conf.has_checkpoint(run):
        raise RunStateError("This run stopped before its first checkpoint, so there is nothing to resume; "
                            "re-run it instead.")
    with transaction.atomic():
        if run.status == RunStatus.INTERRUPTED:
            # Already waiting for a worker (the reaper queued it); sending it again is harmless: one claim wins.
            TrainingRun.objects.filter(pk=run.pk, status=RunStatus.INTERRUPTED).update(cancel_requested=False)
        elif not lifecycle.transition(run.pk, "requeue", only_if={"status": run.status}, cancel_requested=False,
                                      finished_at=None, error="", traceback=""):
            raise RunStateError("The run changed state while resuming; try again.")
        enqueue_run(run)


def rerun_initial(run: TrainingRun) -> dict:
    """Return launch-form initial data that repeats the run: same data version, architecture and settings."""
    config = run.config or {}
    initial = {name: config[name] for name in CONFIG_FIELDS if name in config}
    arch = f"{NETWORK_PREFIX}{run.network_id}" if run.network_id else run.arch
    initial.update(
        name=f"{run.name} (re-run)"[:200] if run.name else "", dataset=run.version.dataset_id,
        version=run.version_id, arch=arch, pretrained=config.get("pretrained") == "imagenet", notes=run.notes)
    start = config.get("init_from") or {}
    if start.get("kind") and start.get("id"):  # started from an earlier model: offer the same start again
        initial["start_from"] = f"{start['kind']}:{start['id']}"
    return initial
