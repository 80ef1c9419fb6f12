"""The classification card on the dashboard."""

from django.urls import reverse

from webapp.classify.models import ACTIVE_JOB_STATUSES, ClassificationJob


def classify_section(request) -> dict:
    """Return the dashboard card: batch jobs the user may see, how many are active, and where to classify."""
    jobs = ClassificationJob.objects.visible_to(request.user)
    count = jobs.count()
    active = jobs.filter(status__in=ACTIVE_JOB_STATUSES).count()
    return {
        "title": "Classification jobs" + (f" · {active} active" if active else ""),
        "count": count,
        "url": reverse("classify_home"),
        "empty_text": "No batch job yet: drop a photo on a trained model for a quick test, or classify a whole ZIP.",
        "action": {"url": reverse("classify_home"), "label": "Classify images"},
    }
