"""Rows the whole app shares: which workers are alive."""

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
    started_at = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now, db_index=True)

    objects = WorkerQuerySet.as_manager()

    class Meta:
        ordering = ["hostname"]

    def __str__(self):
        return self.hostname
