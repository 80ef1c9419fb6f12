"""A search for the best model within a time budget, and its member runs (each a normal training run)."""

from django.db import models
from django.utils import timezone

from webapp.core.ownership import OwnedModel
from webapp.datasets.models import Dataset, DatasetVersion
from webapp.runs.models import TrainingRun


class SearchStatus(models.TextChoices):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Search(OwnedModel):
    """Successive halving over architectures × learning rates on one frozen dataset version."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="+")
    version = models.ForeignKey(DatasetVersion, on_delete=models.PROTECT, related_name="+")
    budget_minutes = models.PositiveIntegerField()
    status = models.CharField(max_length=12, choices=SearchStatus.choices, default=SearchStatus.RUNNING,
                              db_index=True)
    rung = models.PositiveIntegerField(default=0)  # the rung launched last; advancing moves it by compare-and-set
    progress = models.JSONField(default=dict, blank=True)  # {"message": ..., "members": n, "finished": n}
    plan = models.JSONField(default=dict, blank=True)  # candidates, rung-0 epochs, the machine kind, max epochs
    winner = models.ForeignKey(TrainingRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    deadline_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"search {self.pk}"

    @property
    def is_active(self) -> bool:
        return self.status == SearchStatus.RUNNING


class SearchMember(models.Model):
    """One run of a search: the candidate it trains, its rung, and the member it continues."""

    search = models.ForeignKey(Search, on_delete=models.CASCADE, related_name="members")
    run = models.OneToOneField(TrainingRun, on_delete=models.CASCADE, related_name="search_member")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    rung = models.PositiveIntegerField()
    arch = models.CharField(max_length=100)
    lr = models.FloatField()
    epochs = models.PositiveIntegerField()  # epochs in total, the continued members' included
    budget = models.PositiveIntegerField()  # epochs this member's own run trains

    class Meta:
        ordering = ["rung", "id"]

    def __str__(self):
        return f"search {self.search_id} rung {self.rung}: run {self.run_id}"
