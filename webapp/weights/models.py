"""One row per ImageNet weights file: its latest download (a job the reaper watches) and how it was brought in."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class DownloadStatus(models.TextChoices):
    IDLE = "idle", "not downloaded"
    QUEUED = "queued", "queued"
    RUNNING = "running", "downloading"
    SUCCEEDED = "succeeded", "downloaded"
    FAILED = "failed", "failed"


class Origin(models.TextChoices):
    DOWNLOAD = "download", "downloaded"
    UPLOAD = "upload", "uploaded"
    COMMAND = "command", "imported on the server"


class Check(models.TextChoices):
    CHECKSUM = "checksum", "SHA-256 matches torchvision's"
    SHAPES = "shapes", "tensor names and shapes fit (not torchvision's own file)"


class WeightsFileRecord(models.Model):
    """What Lux knows about one file of the torch cache (torchvision's name, e.g. resnet18-f37072fd.pth)."""

    filename = models.CharField(max_length=200, unique=True)
    arch = models.CharField(max_length=100)
    # The latest download, with the job columns webapp.core.reaping expects.
    status = models.CharField(max_length=12, choices=DownloadStatus.choices, default=DownloadStatus.IDLE)
    bytes_done = models.PositiveBigIntegerField(default=0)
    bytes_total = models.PositiveBigIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    task_id = models.CharField(max_length=100, blank=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=255, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    # The file in the cache, as last checked: a change of size or modification time means check again.
    sha256 = models.CharField(max_length=64, blank=True)
    checked_size = models.PositiveBigIntegerField(null=True, blank=True)
    checked_mtime_ns = models.BigIntegerField(null=True, blank=True)
    verified_by = models.CharField(max_length=12, choices=Check.choices, blank=True)
    origin = models.CharField(max_length=12, choices=Origin.choices, blank=True)
    installed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    installed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["filename"]

    def __str__(self):
        return self.filename
