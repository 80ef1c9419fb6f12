"""Classification's job kinds for the reaper (webapp.core.reaping): batch jobs, explanations and exports.

The batch jobs' sweep also deletes pending jobs abandoned before they started (services/pending.py).

Batch jobs and explanations keep their state in columns. An export keeps it in its artifact's `details`
(state, task_id, worker, attempts, heartbeat_at, queued_at, sent_at), so its kind reads and writes there,
one row at a time under a row lock.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from webapp.classify.models import ClassificationJob, Explanation, ExplanationStatus, JobStatus
from webapp.classify.services import pending
from webapp.core import reaping
from webapp.core.reaping import ColumnKind, Held, JobKind, Waiting
from webapp.runs.models import ModelArtifact


class BatchJobKind(ColumnKind):
    """Batch classification jobs: a requeued job starts over (its predictions so far are dropped)."""

    name = "classify.jobs"
    noun = "batch classification job"
    model = ClassificationJob
    task = "webapp.classify.tasks.run_job"
    waiting = (JobStatus.QUEUED,)
    cancelled = JobStatus.CANCELLED

    def queue(self):
        from webapp.runs.services import conf

        return conf.run_queue()  # GPU work like training: LUX_RUN_QUEUE moves both

    def page_url(self, pk):
        return reverse("classify_job", args=[pk])

    def sweep(self, now):
        """Delete pending jobs nobody uploaded to for LUX_PENDING_UPLOAD_EXPIRY_HOURS, with their files."""
        return {"expired": pending.expire_abandoned(now)}


class ExplanationKind(ColumnKind):
    """Explanations: short, so a requeue simply computes it again (the task declares its queue)."""

    name = "classify.explanations"
    noun = "explanation"
    model = Explanation
    task = "webapp.classify.tasks.explain"
    waiting = (ExplanationStatus.QUEUED,)

    def page_url(self, pk):
        return reverse("classify_explanation", args=[pk])


EXPORT_KINDS = (ModelArtifact.Kind.TORCHSCRIPT, ModelArtifact.Kind.ONNX)


class ExportKind(JobKind):
    """Exports to TorchScript or ONNX, whose state lives in the artifact's `details`."""

    name = "classify.exports"
    noun = "export"

    def rows(self):
        return ModelArtifact.objects.filter(kind__in=EXPORT_KINDS)

    def page_url(self, pk):
        run_id = self.rows().filter(pk=pk).values_list("run_id", flat=True).first()
        return reverse("classify_model_card", args=["run", run_id]) if run_id else None

    def send(self, pk, token):
        from webapp.classify.tasks import export_model

        export_model.apply_async(args=[pk], task_id=token)

    def queued_details(self, token: str) -> dict:
        """Return the details that put an export in line for a worker under `token`."""
        return {"state": "queued", "task_id": token, "sent_at": None, "queued_at": timezone.now().isoformat()}

    def stale(self, cutoff):
        held = []
        for row in self.rows().filter(details__state="running"):
            beat = _when(row.details.get("heartbeat_at") or row.details.get("started_at"))
            if beat is None or beat < cutoff:
                seen = {key: row.details.get(key) for key in ("state", "attempts", "heartbeat_at")}
                held.append(Held(row.pk, int(seen["attempts"] or 0), row.details.get("worker", ""), beat, row=seen))
        return held

    def unsent(self, cutoff):
        waiting = []
        for row in self.rows().filter(details__state="queued"):
            queued_at = _when(row.details.get("queued_at"))
            if not row.details.get("sent_at") and queued_at is not None and queued_at < cutoff:
                waiting.append(Waiting(row.pk, row.details.get("task_id", ""), queued_at))
        return waiting

    def change(self, pk: int, expected: dict, **values) -> bool:
        """Merge `values` into the export's details if they still hold `expected`; return whether it did."""
        with transaction.atomic():
            row = self.rows().select_for_update().filter(pk=pk).first()
            details = (row.details or {}) if row is not None else {}
            if row is None or any(details.get(key) != value for key, value in expected.items()):
                return False
            row.details = {**details, **values}
            row.save(update_fields=["details"])
        return True

    def _as_seen(self, held: Held) -> dict:
        return held.row  # the details as the reaper read them: a requeue or an end must find them so

    def requeue(self, held, token):
        return self.change(held.pk, self._as_seen(held), worker="", **self.queued_details(token))

    def end(self, held, outcome, reason):
        return self.change(held.pk, self._as_seen(held), state="failed", error=reason,
                           finished_at=timezone.now().isoformat())

    def give_up_send(self, waiting, reason):
        return self.change(waiting.pk, {"state": "queued", "task_id": waiting.token, "sent_at": None},
                           state="failed", error=reason, finished_at=timezone.now().isoformat())

    def mark_sent(self, pk, token):
        self.change(pk, {"task_id": token}, sent_at=timezone.now().isoformat())

    # -- the worker's side ---------------------------------------------------------------------------------
    def claim(self, pk: int, *, token: str | None, worker: str) -> int | None:
        """Take a queued export (under `token`, when given) for this worker; return the attempt number."""
        with transaction.atomic():
            row = self.rows().select_for_update().filter(pk=pk).first()
            details = (row.details or {}) if row is not None else {}
            stale_message = token and details.get("task_id") not in (token, "", None)
            if row is None or details.get("state") != "queued" or stale_message:
                return None
            now = timezone.now().isoformat()
            attempt = int(details.get("attempts", 0)) + 1
            row.details = {**details, "state": "running", "attempts": attempt, "worker": worker[:255],
                           "started_at": now, "heartbeat_at": now}
            row.save(update_fields=["details"])
        return attempt

    def beat(self, pk: int, attempt: int) -> bool:
        """Write the heartbeat; return False when the lease is lost."""
        return self.change(pk, {"state": "running", "attempts": attempt}, heartbeat_at=timezone.now().isoformat())


def _when(text) -> datetime | None:
    value = parse_datetime(text) if isinstance(text, str) else None
    if value is not None and timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value


JOBS = reaping.register(BatchJobKind())
EXPLANATIONS = reaping.register(ExplanationKind())
EXPORTS = reaping.register(ExportKind())
