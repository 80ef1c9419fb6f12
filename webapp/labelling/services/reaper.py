"""Labelling's job kind for the reaper (webapp.core.reaping): pre-label jobs, on the gpu queue."""

from __future__ import annotations

from django.urls import reverse

from webapp.core import reaping
from webapp.core.reaping import ColumnKind
from webapp.labelling.models import PrelabelJob, PrelabelStatus


class PrelabelKind(ColumnKind):
    """Pre-label jobs: a requeued job starts over (its suggestions so far are dropped)."""

    name = "labelling.prelabel"
    noun = "pre-label job"
    model = PrelabelJob
    task = "webapp.labelling.tasks.prelabel"
    waiting = (PrelabelStatus.QUEUED,)
    cancelled = PrelabelStatus.CANCELLED

    def queue(self):
        from webapp.runs.services import conf

        return conf.run_queue()  # GPU work like training and batch jobs: LUX_RUN_QUEUE moves them all

    def sweep(self, now):
        """Pre-label with each retrained run that has finished (the loop's next round)."""
        from webapp.labelling.services.loop import follow_all

        return {"retrains_followed": follow_all()}

    def page_url(self, pk):
        dataset_id = self.rows().filter(pk=pk).values_list("dataset_id", flat=True).first()
        return reverse("label_page", args=[dataset_id]) if dataset_id else None


PRELABEL = reaping.register(PrelabelKind())
