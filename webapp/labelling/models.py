"""How each label was made (LabelEvent) and what a model suggested for an image (Suggestion)."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from webapp.datasets.models import Dataset, DatasetClass, Image


class Origin(models.TextChoices):
    HAND = "hand", "by hand"
    SUGGESTION = "suggestion", "suggestion accepted"
    BULK = "bulk", "bulk accept"


class LabelEvent(models.Model):
    """One change of an image's class from the labelling page or API: who, when, how, and the class before."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="+")
    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="label_events")
    # The names are kept as text too: the history still reads right after a class is renamed or deleted.
    label = models.ForeignKey(DatasetClass, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    label_name = models.CharField(max_length=200)
    previous = models.ForeignKey(DatasetClass, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    previous_name = models.CharField(max_length=200, blank=True)  # empty: it was unlabelled
    origin = models.CharField(max_length=12, choices=Origin.choices, default=Origin.HAND)
    model_ref = models.CharField(max_length=100, blank=True)  # the suggesting model ("run:12", "imported:3")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    undone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["image", "-created_at"], name="label_event_image_time")]

    def __str__(self):
        return f"image {self.image_id} → {self.label_name} ({self.origin})"
