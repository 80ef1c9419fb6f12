"""The datasets card on the dashboard."""

from django.urls import reverse

from webapp.datasets.models import Dataset


def datasets_section(request) -> dict:
    """Return the dashboard card: how many datasets the user may see, and how to make one."""
    count = Dataset.objects.visible_to(request.user).count()
    return {
        "title": "Datasets",
        "count": count,
        "url": reverse("dataset_list"),
        "empty_text": "No dataset yet: create one, then upload labelled images or a ZIP of class folders.",
        "action": {"url": reverse("dataset_create"), "label": "Create a dataset"},
    }
