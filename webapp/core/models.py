"""Rows the whole app shares: which workers are alive."""

from collections import Counter
from datetime import timedelta

from django.db import models
from django.utils import timezone

WORKER_STALE_AFTER = timedelta(seconds=30)


class WorkerQuerySet(models.QuerySet):
    def alive(self):
        """Return workers that reported within the staleness window."""
        return self.filter(last_seen__gte=timezone.now() - WORKER_STALE_AFTER)


class Worker(models.Model):
    """A Celery worker, as it last reported itself through its heartbeat."""

    hostname = models.CharField(max_length=255, unique=True)
    queues = models.CharField(max_length=255)
    pid = models.IntegerField()
    device = models.CharField(max_length=255, blank=True)
    # The GPUs it may train on: [{"index": 0, "name": "NVIDIA H200", "memory_gib": 139.8}]; [] on a CPU-only worker.
    devices = models.JSONField(default=list, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now, db_index=True)

    objects = WorkerQuerySet.as_manager()

    class Meta:
        ordering = ["hostname"]

    def __str__(self):
        return self.hostname

    @property
    def devices_label(self) -> str:
        """Return its GPUs in words ("2 × NVIDIA H200 (139.8 GiB)"), or "CPU only"."""
        if not self.devices:
            return "CPU only"
        kinds = Counter(f"{d.get('name', '?')} ({d.get('memory_gib', '?')} GiB)" for d in self.devices)
        return ", ".join(f"{count} × {kind}" for kind, count in kinds.items())
