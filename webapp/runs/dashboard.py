"""The training runs card on the dashboard."""

from django.urls import reverse

from webapp.runs.models import ACTIVE_STATUSES, TrainingRun


def runs_section(request) -> dict:
    """Return the dashboard card: how many runs the user may see, how many are active, and how to start one."""
    runs = TrainingRun.objects.visible_to(request.user)
    count = runs.count()
    active = runs.filter(status__in=ACTIVE_STATUSES).count()
    return {
        "title": "Training runs" + (f" · {active} active" if active else ""),
        "count": count,
        "url": reverse("run_list"),
        "empty_text": "No run yet: pick a dataset and an architecture, press Train, and watch it learn.",
        "action": {"url": reverse("run_new"), "label": "New run"},
    }
