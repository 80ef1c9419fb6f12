"""Training runs, their per-epoch metrics, evaluations with per-image predictions, and saved models."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from webapp.core.ownership import OwnedModel
from webapp.datasets.models import DatasetVersion, Image, Split


class CustomNetwork(OwnedModel):
    """A user's own layer stack ("build your own network"), usable as architecture `custom`."""

    name = models.CharField(max_length=200)
    spec = models.JSONField()  # the layer list classifier.netspec understands
    image_size = models.PositiveIntegerField(default=32)  # the size it was designed and checked for
    created_at = models.DateTimeField(default=timezone.now)


    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="network_name_unique_per_owner")]

    def __str__(self):
        return self.name


class RunStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    INTERRUPTED = "interrupted"  # its worker died; the reaper requeues it to resume from its checkpoint
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


ACTIVE_STATUSES = (RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.INTERRUPTED)


class TrainingRun(OwnedModel):
    """One model trained on one frozen dataset version with one config."""

    name = models.CharField(max_length=200, blank=True)
    version = models.ForeignKey(DatasetVersion, on_delete=models.PROTECT, related_name="runs")
    arch = models.CharField(max_length=100)
    network = models.ForeignKey(CustomNetwork, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs")
    config = models.JSONField()  # training.TrainConfig.to_dict()
    notes = models.TextField(blank=True)
    status = models.CharField(max_length=12, choices=RunStatus.choices, default=RunStatus.QUEUED, db_index=True)
    progress = models.JSONField(default=dict, blank=True)  # the latest training.Progress.to_dict()
    cancel_requested = models.BooleanField(default=False)
    attempts = models.PositiveIntegerField(default=0)  # starts, including resumes after a crash
    task_id = models.CharField(max_length=100, blank=True)  # the attempt token: its latest message's id
    queue = models.CharField(max_length=100, blank=True)  # where its task goes; requeues go there too
    queued_at = models.DateTimeField(null=True, blank=True)  # when it last went in line for a worker
    sent_at = models.DateTimeField(null=True, blank=True)  # when the broker took that message; empty: unsent
    worker = models.CharField(max_length=255, blank=True)
    device = models.CharField(max_length=100, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    train_seconds = models.FloatField(null=True, blank=True)
    timings = models.JSONField(default=dict, blank=True)  # the latest attempt: cache_s, fit_s, evaluate_s, ...
    best_epoch = models.PositiveIntegerField(null=True, blank=True)
    warnings = models.JSONField(default=list, blank=True)
    # training.health.check_run() warnings as dicts (code, message, cause, setting, suggested): checked
    # after every epoch while it trains, and once more on the final evaluation.
    health = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    traceback = models.TextField(blank=True)  # capped
    output_dir = models.CharField(max_length=300, blank=True)  # relative to MEDIA_ROOT: checkpoints, weights


    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.name or f"run {self.pk}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES


class EpochMetric(models.Model):
    """The numbers of one finished epoch; unique per run so a resumed run never records an epoch twice."""

    run = models.ForeignKey(TrainingRun, on_delete=models.CASCADE, related_name="epochs")
    epoch = models.PositiveIntegerField()
    train_loss = models.FloatField()
    train_accuracy = models.FloatField()
    val_loss = models.FloatField(null=True)
    val_accuracy = models.FloatField(null=True)
    lr = models.FloatField()
    images_per_s = models.FloatField()
    seconds = models.FloatField()

    class Meta:
        ordering = ["epoch"]
        constraints = [models.UniqueConstraint(fields=["run", "epoch"], name="one_metric_per_epoch")]

    def __str__(self):
        return f"run {self.run_id} epoch {self.epoch}"


class EvaluationStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Evaluation(models.Model):
    """A model measured on one split of a dataset version: the numbers behind the results pages.

    A run's own val/test evaluations are written whole at its end; one asked for later (another version)
    is created queued and filled in by a worker, so its numbers are None until it has succeeded.
    """

    run = models.ForeignKey(TrainingRun, null=True, blank=True, on_delete=models.CASCADE, related_name="evaluations")
    version = models.ForeignKey(DatasetVersion, on_delete=models.PROTECT, related_name="evaluations")
    split = models.CharField(max_length=10, choices=Split.choices)
    status = models.CharField(max_length=10, choices=EvaluationStatus.choices, default=EvaluationStatus.SUCCEEDED)
    error = models.TextField(blank=True)
    task_id = models.CharField(max_length=100, blank=True)  # the attempt token: its latest message's id
    queued_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)  # empty: its message never reached the broker
    worker = models.CharField(max_length=255, blank=True)  # who is measuring it (queued ones: none yet)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    class_names = models.JSONField()
    num_samples = models.PositiveIntegerField(default=0)
    top1 = models.FloatField(null=True, blank=True)
    top5 = models.FloatField(null=True, blank=True)
    macro_f1 = models.FloatField(null=True, blank=True)
    ece = models.FloatField(null=True, blank=True)
    metrics = models.JSONField(default=dict, blank=True)  # classifier.metrics.classification_metrics(...) in full
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"run {self.run_id} on {self.split} of version {self.version_id}"


class EvalPrediction(models.Model):
    """One image of an evaluation: true and predicted class, confidence and top-5."""

    evaluation = models.ForeignKey(Evaluation, on_delete=models.CASCADE, related_name="predictions")
    image = models.ForeignKey(Image, on_delete=models.PROTECT, related_name="+")
    true_index = models.PositiveIntegerField()
    predicted_index = models.PositiveIntegerField()
    confidence = models.FloatField()
    top5 = models.JSONField()  # [[class_index, probability], ...]

    class Meta:
        ordering = ["-confidence"]
        # A confusion cell's gallery reads its images most confident first: the index holds them in that order,
        # so a page of a big cell is read from the index, not sorted (bench/scale.py).
        indexes = [models.Index(fields=["evaluation", "true_index", "predicted_index", "-confidence", "id"],
                                name="evalpred_cell_order")]

    def __str__(self):
        return f"image {self.image_id}: {self.true_index} -> {self.predicted_index}"


class ModelArtifact(models.Model):
    """A file a run produced: weights (safetensors), its checkpoint, or an export."""

    class Kind(models.TextChoices):
        WEIGHTS = "weights"
        CHECKPOINT = "checkpoint"
        TORCHSCRIPT = "torchscript"
        ONNX = "onnx"

    run = models.ForeignKey(TrainingRun, on_delete=models.CASCADE, related_name="artifacts")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    path = models.CharField(max_length=300)  # relative to MEDIA_ROOT
    size_bytes = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    details = models.JSONField(default=dict, blank=True)  # e.g. an export's parity check
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["kind", "-created_at"]

    def __str__(self):
        return f"{self.kind} of run {self.run_id}"
