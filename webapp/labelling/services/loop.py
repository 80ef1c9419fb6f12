"""The active-learning loop from the labelling page: after enough new labels, "Retrain from the last model"
freezes the dataset and launches a run starting from the suggesting run (runs.services.retrain), and once
that run succeeds a pre-label job with the new model follows (the reaper's look calls follow_all)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from webapp.classify.services import refs
from webapp.core.errors import FieldError
from webapp.datasets.models import Dataset, Split
from webapp.datasets.services import bulk
from webapp.datasets.services.access import live_images
from webapp.env import env_int
from webapp.labelling.models import LabelEvent, PrelabelJob, Retrain
from webapp.labelling.services import prelabel
from webapp.runs.models import RunStatus
from webapp.runs.services import retrain as runs_retrain

log = logging.getLogger(__name__)
DEFAULT_AFTER = 50
FINISHED = (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED)


class LoopError(FieldError):
    """The retrain cannot start; says why."""

    status = 409


def retrain_after() -> int:
    """Return how many new labels make the page offer a retrain (LUX_RETRAIN_AFTER_LABELS, default 50)."""
    value = getattr(settings, "LUX_RETRAIN_AFTER_LABELS", None)
    return max(1, int(value)) if value is not None else env_int("LUX_RETRAIN_AFTER_LABELS", DEFAULT_AFTER, minimum=1)


def new_labels(dataset: Dataset, job: PrelabelJob) -> int:
    """Return how many labels were given (and not undone) since the job's suggestions arrived."""
    since = job.finished_at or job.created_at
    return LabelEvent.objects.filter(dataset=dataset, undone_at__isnull=True, created_at__gt=since).count()


def in_progress(dataset: Dataset) -> Retrain | None:
    """Return the dataset's retrain whose run has not been followed up yet."""
    return Retrain.objects.filter(dataset=dataset, followed_at__isnull=True).select_related("run").first()


def offer(dataset: Dataset, job: PrelabelJob | None) -> dict | None:
    """Return what the page says about retraining: new labels, the threshold, and a retrain under way."""
    if job is None or not job.model_ref.startswith("run:"):
        return None  # only a run of Lux can be retrained from
    count = new_labels(dataset, job)
    return {"labels": count, "after": retrain_after(), "ready": count >= retrain_after(),
            "running": in_progress(dataset)}


def start_retrain(dataset: Dataset, user) -> Retrain:
    """Launch a run from the suggesting run on the dataset's current labels; the pre-label follows its end."""
    job = prelabel.latest_job(dataset)
    if job is None or not job.model_ref.startswith("run:"):
        raise LoopError("Retraining starts from the run whose suggestions you are labelling: pre-label with a "
                        "training run first.")
    if in_progress(dataset) is not None:
        raise LoopError("A retrain of this dataset is already under way; its pre-label follows when it ends.")
    if new_labels(dataset, job) == 0:
        raise LoopError("No label was given since the model's suggestions: there is nothing new to learn from.")
    run = refs.classifiable_runs(user).filter(pk=int(job.model_ref.partition(":")[2])).first()
    if run is None:
        raise LoopError("The suggesting run is gone or has no weights any more; pre-label with another model.")
    with transaction.atomic():  # a refused launch leaves the splits as they were
        _train_on_new_labels(dataset, job)
        try:
            new_run = runs_retrain.retrain(user, run)
        except runs_retrain.RetrainError as e:
            transaction.set_rollback(True)
            raise LoopError(e.message) from None
        return Retrain.objects.create(dataset=dataset, source=job, run=new_run, created_by=user)


def _train_on_new_labels(dataset: Dataset, job: PrelabelJob) -> int:
    """Put the images labelled since the suggestions that have no split yet in the training split; return how many.

    A version leaves unassigned images out, so without this the new labels would not reach the run; the
    validation and test splits stay as they are, so each round is measured on the same images.
    """
    since = job.finished_at or job.created_at
    labelled = LabelEvent.objects.filter(dataset=dataset, undone_at__isnull=True, created_at__gt=since)
    ids = list(live_images(dataset).filter(pk__in=labelled.values("image_id"), label__isnull=False,
                                           split=Split.UNASSIGNED).values_list("pk", flat=True))
    return bulk.move_to_split(dataset, ids, Split.TRAIN) if ids else 0


def follow(retrain: Retrain) -> bool:
    """Act on a retrain whose run has ended: pre-label with the new model, or note why not. Return whether done."""
    with transaction.atomic():
        retrain = Retrain.objects.select_for_update().select_related("run", "dataset", "created_by").get(
            pk=retrain.pk)
        if retrain.followed_at is not None or retrain.run.status not in FINISHED:
            return False
        if retrain.run.status != RunStatus.SUCCEEDED:
            retrain.note = f"The retrained run ended {retrain.run.status}; no pre-label followed."
        else:
            try:
                retrain.prelabel = prelabel.start_prelabel(retrain.dataset, retrain.created_by,
                                                           f"run:{retrain.run_id}")
            except prelabel.PrelabelError as e:
                if e.status == 409 and "already running" in e.message:
                    return False  # another pre-label is running: follow at the next look
                retrain.note = f"No pre-label followed: {e.message}"[:500]
            except refs.UnknownModelRef:
                retrain.note = "No pre-label followed: the retrained run kept no weights."
        retrain.followed_at = timezone.now()
        retrain.save(update_fields=["prelabel", "note", "followed_at"])
    return True


def follow_all(dataset: Dataset | None = None) -> list[int]:
    """Follow every retrain whose run has ended (of one dataset, or all); return the ids acted on."""
    rows = Retrain.objects.filter(followed_at__isnull=True, run__status__in=FINISHED)
    if dataset is not None:
        rows = rows.filter(dataset=dataset)
    done = []
    for retrain in rows:
        try:
            if follow(retrain):
                done.append(retrain.pk)
        except Exception:  # one retrain's trouble must not stop the others
            log.exception("could not follow retrain %s", retrain.pk)
    return done
