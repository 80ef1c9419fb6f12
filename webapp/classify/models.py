"""Imported models, batch classification jobs with their per-image predictions, and explanations."""

import uuid

from django.db import models
from django.utils import timezone

from webapp.core.ownership import OwnedModel
from webapp.core.storage import local_media
from webapp.datasets.models import DatasetVersion, Image, Split
from webapp.runs.models import CustomNetwork, Evaluation


def imported_model_path(instance, filename):
    """Return a generated storage name: never derived from the user's file name."""
    return f"classify/models/{uuid.uuid4().hex}.safetensors"


def job_archive_path(instance, filename):
    return f"classify/archives/{uuid.uuid4().hex}.zip"


class ImportedModel(OwnedModel):
    """Weights someone brought from elsewhere, re-saved as a Lux .safetensors file with its model card."""

    name = models.CharField(max_length=200)
    arch = models.CharField(max_length=100)
    network = models.ForeignKey(CustomNetwork, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    spec = models.JSONField(null=True, blank=True)  # the custom layer list it was built with (copied)
    class_names = models.JSONField()
    image_size = models.PositiveIntegerField()
    preset = models.JSONField()  # classifier.presets EvalPreset.to_dict()
    # On MEDIA_ROOT whatever the media storage: workers load weights by path, like a run's own weights.
    file = models.FileField(upload_to=imported_model_path, max_length=300, storage=local_media)
    original_name = models.CharField(max_length=300, blank=True)  # display text only
    original_format = models.CharField(max_length=20)  # "safetensors" or "pth"
    sha256 = models.CharField(max_length=64)
    size_bytes = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)


    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="imported_model_name_unique")]

    def __str__(self):
        return self.name

    @property
    def ref(self) -> str:
        return f"imported:{self.pk}"


class JobSource(models.TextChoices):
    UPLOAD = "upload", "uploaded images"
    ARCHIVE = "archive", "ZIP archive"
    VERSION = "version", "dataset version"


class JobStatus(models.TextChoices):
    PENDING = "pending"  # taking uploads; nothing queued yet
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


ACTIVE_JOB_STATUSES = (JobStatus.PENDING, JobStatus.QUEUED, JobStatus.RUNNING)
FINAL_JOB_STATUSES = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


class ClassificationJob(OwnedModel):
    """One model classifying many images on a worker: uploads, a ZIP, or a dataset version's split."""

    name = models.CharField(max_length=200, blank=True)
    model_ref = models.CharField(max_length=120)  # "run:<id>", "imported:<id>" or "imagenet:<arch>"
    model_label = models.CharField(max_length=300)  # what the model was called when the job was made
    class_names = models.JSONField(default=list, blank=True)  # the model's, filled in when it starts
    source = models.CharField(max_length=10, choices=JobSource.choices)
    archive = models.FileField(upload_to=job_archive_path, max_length=300, blank=True)
    original_name = models.CharField(max_length=500, blank=True)
    version = models.ForeignKey(DatasetVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    split = models.CharField(max_length=10, choices=Split.choices, blank=True)
    top_k = models.PositiveSmallIntegerField(default=5)
    low_confidence = models.FloatField(default=0.5)  # below this a prediction is listed for review
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.PENDING, db_index=True)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)  # images finished, errors included
    errors = models.PositiveIntegerField(default=0)
    progress = models.JSONField(default=dict, blank=True)  # images_per_s, eta_s, updated_at
    cancel_requested = models.BooleanField(default=False)
    task_id = models.CharField(max_length=100, blank=True)  # the attempt token: its latest message's id
    queued_at = models.DateTimeField(null=True, blank=True)  # when it last went in line for a worker
    sent_at = models.DateTimeField(null=True, blank=True)  # when the broker took that message; empty: unsent
    worker = models.CharField(max_length=255, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)  # its worker's latest sign of life
    device = models.CharField(max_length=100, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    evaluation = models.ForeignKey(Evaluation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    evaluation_note = models.CharField(max_length=500, blank=True)  # why there is no evaluation
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)


    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.name or f"job {self.pk}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_JOB_STATUSES


class JobInput(models.Model):
    """One file uploaded into a pending job: stored, or refused at upload with the reason."""

    job = models.ForeignKey(ClassificationJob, on_delete=models.CASCADE, related_name="inputs")
    position = models.PositiveIntegerField()
    name = models.CharField(max_length=500)  # display text only, never a path
    file = models.CharField(max_length=300, blank=True)  # storage name; empty when refused
    error = models.CharField(max_length=500, blank=True)
    size_bytes = models.PositiveBigIntegerField(default=0)  # what the stored file holds: the owner's pending quota
    added_at = models.DateTimeField(default=timezone.now)  # a pending job's last upload says it is still in use

    class Meta:
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["job", "position"], name="job_input_position_unique")]

    def __str__(self):
        return self.name


class Prediction(models.Model):
    """What the model said about one image of a job (or why the image could not be read)."""

    job = models.ForeignKey(ClassificationJob, on_delete=models.CASCADE, related_name="predictions")
    position = models.PositiveIntegerField()
    name = models.CharField(max_length=500)  # display text only
    image = models.ForeignKey(Image, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    source = models.CharField(max_length=300, blank=True)  # storage name of an uploaded input
    thumbnail = models.CharField(max_length=300, blank=True)  # storage name
    predicted_index = models.IntegerField(null=True, blank=True)
    confidence = models.FloatField(null=True, blank=True)
    topk = models.JSONField(default=list, blank=True)  # [[class_index, probability], ...] best first
    true_index = models.IntegerField(null=True, blank=True)  # version jobs, in the model's class indices
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["job", "position"], name="prediction_position_unique")]
        indexes = [models.Index(fields=["job", "predicted_index"]), models.Index(fields=["job", "confidence"])]

    def __str__(self):
        return f"{self.name}: {self.predicted_index}"


class ExplanationStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Explanation(OwnedModel):
    """Why one model decided what it did about one image: heatmaps, feature maps and filters as PNGs."""

    model_ref = models.CharField(max_length=120)
    model_label = models.CharField(max_length=300)
    image = models.CharField(max_length=300)  # storage name of the explained image
    original_name = models.CharField(max_length=500, blank=True)
    class_index = models.IntegerField(null=True, blank=True)  # None: the top class
    layer = models.CharField(max_length=200, blank=True)  # Grad-CAM's layer; "": the automatic rule's choice
    status = models.CharField(max_length=10, choices=ExplanationStatus.choices, default=ExplanationStatus.QUEUED)
    error = models.TextField(blank=True)
    result = models.JSONField(default=dict, blank=True)  # what the worker made: classes, method, PNG names
    task_id = models.CharField(max_length=100, blank=True)  # the attempt token: its latest message's id
    queued_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)  # empty: its message never reached the broker
    worker = models.CharField(max_length=255, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)


    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"explanation {self.pk} of {self.model_label}"
