"""One owner's whole world of rows and files, for tests that visit every route: built directly, no worker.

A dataset with classes, images, an import and a frozen version; a succeeded run with saved weights, an
evaluation, a finished export and a custom network; a finished and a pending classification job with
predictions and thumbnails; an explanation with its picture; an imported model; a quick test still running;
a finished search whose member (and winner) is the run.
"""

from __future__ import annotations

import io
from pathlib import Path
from types import SimpleNamespace

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django_celery_results.models import TaskResult
from PIL import Image as PILImage

from tests.factories import colour_image, make_evaluation, make_version, png, saved_run, tiny_network
from webapp.classify.models import ClassificationJob, Explanation, ExplanationStatus, JobInput, JobStatus, Prediction
from webapp.classify.services.imported import import_model
from webapp.classify.services.quick import TASK_NAME as QUICK_TASK
from webapp.datachecks.models import DataCheck
from webapp.datasets.models import Import, ImportItem, ImportKind, ImportStatus, VersionEntry
from webapp.runs.models import ModelArtifact
from webapp.searches.models import Search, SearchMember, SearchStatus


def _webp(pixels) -> bytes:
    out = io.BytesIO()
    PILImage.fromarray(pixels).save(out, format="WEBP")
    return out.getvalue()


def _job(owner, run, *, status: str, files: int) -> ClassificationJob:
    """Return an upload job over `files` images: stored inputs, and predictions once it has run."""
    job = ClassificationJob.objects.create(owner=owner, model_ref=f"run:{run.pk}", model_label=str(run),
                                           source="upload", status=status, total=files,
                                           done=files if status == JobStatus.SUCCEEDED else 0,
                                           class_names=list(run.version.class_names))
    for position in range(files):
        pixels = colour_image("red", seed=position)
        source = default_storage.save(f"classify/jobs/{job.pk}/inputs/{position}.img", ContentFile(png(pixels)))
        JobInput.objects.create(job=job, position=position, name=f"red-{position}.png", file=source)
        if status == JobStatus.SUCCEEDED:
            thumbnail = default_storage.save(f"classify/jobs/{job.pk}/thumbs/{position}.webp",
                                             ContentFile(_webp(pixels)))
            Prediction.objects.create(job=job, position=position, name=f"red-{position}.png", source=source,
                                      thumbnail=thumbnail, predicted_index=0, confidence=0.9,
                                      topk=[[0, 0.9], [1, 0.06], [2, 0.04]])
    return job


def _labelling(owner, dataset, run, image, label) -> dict:
    """Return a finished pre-label job with one suggestion, a label and a batch already undone, and a retrain."""
    from django.utils import timezone

    from webapp.labelling.models import LabelBatch, LabelEvent, PrelabelJob, Retrain, Suggestion

    job = PrelabelJob.objects.create(dataset=dataset, created_by=owner, model_ref=f"run:{run.pk}", model_label=str(run),
                                     class_names=list(run.version.class_names), status="succeeded", total=1, done=1,
                                     finished_at=timezone.now())
    Suggestion.objects.create(job=job, dataset=dataset, image=image, model_ref=job.model_ref, label_name=label.name,
                              label=label, topk=[[label.name, 0.9]], confidence=0.9, margin=0.8, entropy=0.3)
    batch = LabelBatch.objects.create(dataset=dataset, job=job, model_ref=job.model_ref, label=label,
                                      label_name=label.name, user=owner, undone_at=timezone.now())
    event = LabelEvent.objects.create(dataset=dataset, image=image, label=label, label_name=label.name, user=owner,
                                      undone_at=timezone.now())
    retrain = Retrain.objects.create(dataset=dataset, source=job, run=run, created_by=owner, prelabel=job,
                                     followed_at=timezone.now())
    return {"prelabel_job": job, "label_batch": batch, "label_event": event, "retrain": retrain}


def build_world(owner) -> SimpleNamespace:
    """Return everything `owner` has, one row of each kind (MEDIA_ROOT must be the test's own folder)."""
    version = make_version(owner, name="World", per_split={"train": 1, "val": 1, "test": 1})
    dataset = version.dataset
    classes = list(dataset.classes.order_by("position"))
    images = list(dataset.images.order_by("id"))
    upload = Import.objects.create(dataset=dataset, created_by=owner, kind=ImportKind.UPLOAD,
                                   status=ImportStatus.SUCCEEDED, total=1, done=1, accepted=1)
    ImportItem.objects.create(source_import=upload, name=images[0].original_name, outcome="accepted",
                              image=images[0])

    run = saved_run(owner, version, name="world run")
    tests = VersionEntry.objects.filter(version=version, split="test").select_related("image").order_by("id")
    evaluation = make_evaluation(run, [(e.image, e.class_index, 0, 3.0) for e in tests])
    weights = run.artifacts.get(kind=ModelArtifact.Kind.WEIGHTS)
    export_path = f"{run.output_dir}/exports/world/model.torchscript.pt"
    (Path(settings.MEDIA_ROOT) / export_path).parent.mkdir(parents=True)
    (Path(settings.MEDIA_ROOT) / export_path).write_bytes(b"torchscript bytes")
    export = ModelArtifact.objects.create(run=run, kind=ModelArtifact.Kind.TORCHSCRIPT, path=export_path,
                                          size_bytes=17, created_by=owner,
                                          details={"state": "done", "format": "torchscript"})

    picture = default_storage.save("classify/explanations/world-input.png",
                                   ContentFile(png(colour_image("blue"))))
    explanation = Explanation.objects.create(
        owner=owner, model_ref=f"run:{run.pk}", model_label=str(run), image=picture, original_name="blue.png",
        status=ExplanationStatus.SUCCEEDED,
        result={"classes": 3, "top": [{"index": 2, "name": "blue", "probability": 0.8}],
                "images": {"input": picture}})

    # A quick test that outlived its request's wait and that the interactive worker has started on.
    quick_ticket = f"{owner.pk}-{'0' * 32}"
    TaskResult.objects.create(task_id=quick_ticket, task_name=QUICK_TASK, status="STARTED")

    search = Search.objects.create(owner=owner, dataset=dataset, version=version, budget_minutes=5,
                                   status=SearchStatus.SUCCEEDED, winner=run, deadline_at=run.created_at)
    SearchMember.objects.create(search=search, run=run, rung=0, arch=run.arch, lr=run.config["lr"], epochs=3, budget=3)

    weights_file = (Path(settings.MEDIA_ROOT) / weights.path).read_bytes()
    imported = import_model(owner, name="world import", upload=SimpleUploadedFile("world.safetensors", weights_file))
    return SimpleNamespace(
        owner=owner, dataset=dataset, classes=classes, image=images[0], upload=upload, version=version, run=run,
        evaluation=evaluation, prediction=evaluation.predictions.order_by("id").first(), weights=weights,
        export=export, network=tiny_network(owner, name="world net"), explanation=explanation, imported=imported,
        job=_job(owner, run, status=JobStatus.SUCCEEDED, files=2),
        pending_job=_job(owner, run, status=JobStatus.PENDING, files=1), quick_ticket=quick_ticket,
        **_labelling(owner, dataset, run, images[0], classes[0]),
        data_check=DataCheck.objects.get(version=version),  # recorded as the version was frozen
        search=search,
    )
