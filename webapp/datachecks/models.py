"""Data checks of a dataset or a frozen version: what was checked, with what settings, and what was found."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from webapp.datasets.models import Dataset, DatasetVersion


class CheckKind(models.TextChoices):
    DUPLICATES = "duplicates", "near-duplicates and leakage"
    LABELS = "labels", "label errors"
    OUTLIERS = "outliers", "outliers"


class CheckStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class DataCheck(models.Model):
    """One check of a dataset's live images (version empty) or of a frozen version, run as a job.

    Results are kept compact: image ids in lists (`results`), never one row per pair or per image.
    """

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="data_checks")
    version = models.ForeignKey(DatasetVersion, null=True, blank=True, on_delete=models.CASCADE,
                                related_name="data_checks")
    kind = models.CharField(max_length=12, choices=CheckKind.choices, default=CheckKind.DUPLICATES)
    threshold = models.PositiveSmallIntegerField(null=True, blank=True)  # bits, for near-duplicates
    revision = models.PositiveIntegerField(default=0)  # the dataset revision it looked at
    # {"images": n, "hashed": n, "unhashed": n, "uncompared": n, "groups": n, "in_groups": n, "leaking_pairs": n,
    #  "leaks": {"test_in_train": n, ...}} for near-duplicates; {"suspects": n, ...} for labels.
    counts = models.JSONField(default=dict, blank=True)
    # {"groups": [[image id, ...], ...], "leaks": [[id, id], ...]}; labels: {"suspects": [[id, given, suggested, p]]}
    results = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    # Started by Lux when images were added to a large dataset: it compares the new images with the others and
    # keeps the earlier check's pairs (services/checks.compare_added), where a check someone starts compares all.
    automatic = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    # The job columns webapp.core.reaping expects, with progress for the page.
    status = models.CharField(max_length=10, choices=CheckStatus.choices, default=CheckStatus.QUEUED)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    task_id = models.CharField(max_length=100, blank=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=255, blank=True)
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["dataset", "kind", "-created_at"]),
                   models.Index(fields=["status", "heartbeat_at"])]

    def __str__(self):
        where = f"v{self.version.number}" if self.version_id else "live images"
        return f"{self.get_kind_display()} check of {self.dataset} ({where})"

    @property
    def finished(self) -> bool:
        return self.status in (CheckStatus.SUCCEEDED, CheckStatus.FAILED)
