"""The datachecks app's job kind for the reaper (webapp.core.reaping): a check restarts from the beginning."""

from __future__ import annotations

from django.urls import reverse

from webapp.celery import DEFAULT_QUEUE
from webapp.core import reaping
from webapp.core.reaping import ColumnKind
from webapp.datachecks.models import CheckKind, CheckStatus, DataCheck
from webapp.runs.services.conf import run_queue

CHECK_TASK = "webapp.datachecks.tasks.run_check"


def queue_for(kind: str) -> str:
    """Return the queue a kind of check runs on: hashes on `default`, a model's work on the run queue (gpu)."""
    return run_queue() if kind in (CheckKind.LABELS, CheckKind.OUTLIERS) else DEFAULT_QUEUE


class CheckJobKind(ColumnKind):
    """Data checks: a requeued check starts over (hashes already filled in are kept)."""

    name = "datachecks.checks"
    noun = "data check"
    model = DataCheck
    task = CHECK_TASK
    waiting = (CheckStatus.QUEUED,)
    queued = CheckStatus.QUEUED
    running = CheckStatus.RUNNING
    failed = CheckStatus.FAILED

    def send(self, pk, token):
        from webapp.datachecks.tasks import run_check

        kind = DataCheck.objects.filter(pk=pk).values_list("kind", flat=True).first() or CheckKind.DUPLICATES
        run_check.apply_async(args=[pk], task_id=token, queue=queue_for(kind))

    def page_url(self, pk):
        dataset_id = DataCheck.objects.filter(pk=pk).values_list("dataset_id", flat=True).first()
        return reverse("datachecks_page", args=[dataset_id]) if dataset_id else None


CHECKS = reaping.register(CheckJobKind())
