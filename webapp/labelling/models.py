"""How each label was made (LabelEvent) and what a model suggested for an image (Suggestion)."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from webapp.datasets.models import Dataset, DatasetClass, Image
from webapp.runs.models import TrainingRun


class Origin(models.TextChoices):
    HAND = "hand", "by hand"
    SUGGESTION = "suggestion", "suggestion accepted"
    BULK = "bulk", "bulk accept"


class LabelEvent(models.Model):
    """One change of an image's class (labelling page, API, browse, gallery, data checks): who, when, how, before."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="+")
    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="label_events")
    # The names are kept as text too: the history still reads right after a class is renamed or deleted.
    label = models.ForeignKey(DatasetClass, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    label_name = models.CharField(max_length=200)
    previous = models.ForeignKey(DatasetClass, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    previous_name = models.CharField(max_length=200, blank=True)  # empty: it was unlabelled
    origin = models.CharField(max_length=12, choices=Origin.choices, default=Origin.HAND)
    model_ref = models.CharField(max_length=100, blank=True)  # the suggesting model ("run:12", "imported:3")
    batch = models.ForeignKey("LabelBatch", null=True, blank=True, on_delete=models.SET_NULL, related_name="events")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    undone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["image", "-created_at"], name="label_event_image_time")]

    def __str__(self):
        return f"image {self.image_id} → {self.label_name} ({self.origin})"


class PrelabelStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


ACTIVE_PRELABEL = (PrelabelStatus.QUEUED, PrelabelStatus.RUNNING)


class PrelabelJob(models.Model):
    """A model run over a dataset's unlabelled images on the gpu queue, leaving a Suggestion for each."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="prelabel_jobs")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    model_ref = models.CharField(max_length=120)  # "run:<id>" or "imported:<id>"
    model_label = models.CharField(max_length=300)  # what the model was called when the job was made
    class_names = models.JSONField(default=list, blank=True)  # the model's, in its output order
    top_k = models.PositiveSmallIntegerField(default=3)
    status = models.CharField(max_length=10, choices=PrelabelStatus.choices, default=PrelabelStatus.QUEUED,
                              db_index=True)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)  # images finished, unreadable ones included
    errors = models.PositiveIntegerField(default=0)
    progress = models.JSONField(default=dict, blank=True)  # images_per_s, eta_s, updated_at
    cancel_requested = models.BooleanField(default=False)
    task_id = models.CharField(max_length=100, blank=True)  # the attempt token: its latest message's id
    queued_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)  # when the broker took that message; empty: unsent
    worker = models.CharField(max_length=255, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    device = models.CharField(max_length=100, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Set when the suggestions came from a batch classification job's predictions (its images sent to the
    # dataset), not from a run of the model on the gpu queue: such a job is made finished.
    from_job = models.ForeignKey("classify.ClassificationJob", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"pre-label {self.pk} with {self.model_label}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_PRELABEL


class Suggestion(models.Model):
    """What a model said about one image: its top-k and how sure it was. Never a label until a person accepts."""

    job = models.ForeignKey(PrelabelJob, on_delete=models.CASCADE, related_name="suggestions")
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="+")
    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="suggestions")
    model_ref = models.CharField(max_length=120)
    # The model's top-1 class by name, and the dataset's class of that name when the job wrote it (none: the
    # dataset has no such class). Accepting checks the name still matches.
    label_name = models.CharField(max_length=200)
    label = models.ForeignKey(DatasetClass, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    topk = models.JSONField(default=list)  # [[class name, probability], ...] best first
    confidence = models.FloatField()  # top-1 probability
    margin = models.FloatField()  # top-1 minus top-2 probability
    entropy = models.FloatField()  # nats
    rejected_at = models.DateTimeField(null=True, blank=True)  # a person said no in grid mode
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["job", "image"], name="suggestion_job_image_unique")]
        indexes = [models.Index(fields=["job", "label", "confidence"], name="suggestion_job_class_conf")]

    def __str__(self):
        return f"image {self.image_id}: {self.label_name} {self.confidence:.0%}"


class LabelBatch(models.Model):
    """Many labels applied as one step (bulk accept, grid mode): undone as one step too."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="+")
    job = models.ForeignKey(PrelabelJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    model_ref = models.CharField(max_length=120)
    label = models.ForeignKey(DatasetClass, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    label_name = models.CharField(max_length=200)
    min_confidence = models.FloatField(null=True, blank=True)  # None: chosen image by image (grid mode)
    count = models.PositiveIntegerField(default=0)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    undone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.count} × {self.label_name} (batch {self.pk})"


class Retrain(models.Model):
    """"Retrain from the last model": a run launched from the suggesting run on the new labels, and the pre-label
    job that follows once it succeeds (the active-learning loop's next round)."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="+")
    source = models.ForeignKey(PrelabelJob, null=True, on_delete=models.SET_NULL, related_name="+")
    run = models.ForeignKey(TrainingRun, on_delete=models.CASCADE, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    prelabel = models.ForeignKey(PrelabelJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    note = models.CharField(max_length=500, blank=True)  # why no pre-label followed (the run failed, ...)
    created_at = models.DateTimeField(default=timezone.now)
    followed_at = models.DateTimeField(null=True, blank=True)  # when the run's end was acted on

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"retrain {self.pk}: run {self.run_id}"
