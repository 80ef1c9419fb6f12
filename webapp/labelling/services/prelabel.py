"""Pre-label jobs, the web's side: start one (after checking the model knows this dataset's classes), cancel,
report; and which job's suggestions a page shows. The model's work happens on the worker (worker.py)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from webapp.classify.models import ImportedModel
from webapp.classify.services import refs
from webapp.core import reaping
from webapp.core.errors import FieldError
from webapp.datasets.models import Dataset
from webapp.datasets.services.access import live_images
from webapp.labelling.models import PrelabelJob, PrelabelStatus
from webapp.labelling.services.reaper import PRELABEL

MAX_TOP_K = 10


class PrelabelError(FieldError):
    """The job cannot be made or changed; `field` names the input at fault, `status` the HTTP status."""


def model_choices(user) -> list[tuple[str, str]]:
    """Return (reference, label) of every model `user` may pre-label with: succeeded runs and imported models."""
    return [option for option in refs.flat_choices(user) if not option[0].startswith("imagenet:")]


def model_classes(user, model_ref: str) -> tuple[refs.ModelSource, list[str]]:
    """Return where the model is and its class names; UnknownModelRef (a 404) for one `user` may not use."""
    ref = refs.ModelRef.parse(model_ref)
    if ref.kind == "imagenet":
        raise PrelabelError("Pre-label with a training run or an imported model: ImageNet's 1,000 classes are "
                            "not a dataset's.", "model")
    source = refs.resolve(user, model_ref)
    if ref.kind == "run":
        run = refs.classifiable_runs(user).get(pk=int(ref.key))
        return source, list(run.version.class_names)
    return source, list(ImportedModel.objects.visible_to(user).get(pk=int(ref.key)).class_names)


def class_match(dataset: Dataset, model_names: list[str]) -> dict[str, int]:
    """Return {model class name: dataset class id} for the names both know; refuse when they share none."""
    ours = dict(dataset.classes.values_list("name", "pk"))
    shared = {name: ours[name] for name in model_names if name in ours}
    if not shared:
        raise PrelabelError(f"This model's classes ({_names(model_names)}) match none of this dataset's "
                            f"({_names(list(ours)) or 'none yet'}); choose a model trained on these classes.",
                            "model")
    return shared


def _names(names: list[str], limit: int = 6) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def start_prelabel(dataset: Dataset, user, model_ref: str, *, top_k: int = 3) -> PrelabelJob:
    """Queue a job that runs the model over the dataset's unlabelled images (one active job per dataset)."""
    source, names = model_classes(user, model_ref)
    class_match(dataset, names)
    if not 1 <= int(top_k) <= MAX_TOP_K:
        raise PrelabelError(f"Top-k must be between 1 and {MAX_TOP_K}.", "top_k")
    total = live_images(dataset).filter(label__isnull=True).count()
    if total == 0:
        raise PrelabelError("This dataset has no unlabelled images to pre-label.", status=409)
    token = reaping.new_token()
    with transaction.atomic():
        Dataset.objects.select_for_update().filter(pk=dataset.pk).first()  # one start at a time per dataset
        if PrelabelJob.objects.filter(dataset=dataset, status__in=(PrelabelStatus.QUEUED, PrelabelStatus.RUNNING)):
            raise PrelabelError("A pre-label job is already running on this dataset; wait for it or cancel it.",
                                status=409)
        job = PrelabelJob.objects.create(dataset=dataset, created_by=user, model_ref=source.ref,
                                         model_label=source.label[:300], class_names=names, top_k=int(top_k),
                                         total=total, **PRELABEL.queued_fields(token))
        reaping.send_on_commit(PRELABEL, job.pk, token)
    return job


def cancel_prelabel(job: PrelabelJob) -> PrelabelJob:
    """Stop a job: at once when no worker holds it, else at the worker's next batch."""
    waiting = PrelabelJob.objects.filter(pk=job.pk, status=PrelabelStatus.QUEUED)
    if not waiting.update(status=PrelabelStatus.CANCELLED, cancel_requested=True, finished_at=timezone.now()):
        running = PrelabelJob.objects.filter(pk=job.pk, status=PrelabelStatus.RUNNING)
        if not PRELABEL.cancel_orphan(job.pk) and not running.update(cancel_requested=True):
            raise PrelabelError("This pre-label job has already finished.", status=409)
    job.refresh_from_db()
    return job


def job_for(dataset: Dataset, job_pk) -> PrelabelJob:
    """Return one pre-label job of `dataset`, or raise Http404."""
    from django.http import Http404

    from webapp.core.ids import parse_id

    job = PrelabelJob.objects.filter(dataset=dataset, pk=parse_id(job_pk) or 0).first()
    if job is None:
        raise Http404("No such pre-label job.")
    return job


def latest_job(dataset: Dataset) -> PrelabelJob | None:
    """Return the job whose suggestions the queue uses: the newest that finished with suggestions."""
    return (PrelabelJob.objects.filter(dataset=dataset, status=PrelabelStatus.SUCCEEDED)
            .order_by("-finished_at", "-id").first())


def suggesting_job(dataset: Dataset, wanted: int | None) -> PrelabelJob | None:
    """Return job `wanted` of the dataset (None: the newest finished one); ValidationError for another."""
    if wanted is None:
        return latest_job(dataset)
    job = PrelabelJob.objects.filter(dataset=dataset, pk=wanted).first()
    if job is None:
        raise ValidationError("That pre-label job is not one of this dataset's.")
    return job


def current_job(dataset: Dataset) -> PrelabelJob | None:
    """Return the newest job of the dataset, whatever its state (the page shows its progress)."""
    return PrelabelJob.objects.filter(dataset=dataset).order_by("-created_at", "-id").first()


def job_status(job: PrelabelJob) -> dict:
    """Return what a page polls: state, counts, progress and the error."""
    return {"id": job.pk, "status": job.status, "model": job.model_ref, "model_label": job.model_label,
            "total": job.total, "done": job.done, "errors": job.errors, "progress": job.progress or {},
            "error": job.error, "active": job.is_active, "cancel_requested": job.cancel_requested,
            "suggestions": job.suggestions.count() if not job.is_active else job.done - job.errors}
