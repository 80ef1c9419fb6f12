"""The datasets card on the dashboard."""

from webapp.core.dashboard import card
from webapp.datasets.models import Dataset


def datasets_section(request) -> dict:
    """Return the dashboard card: how many datasets the user may see, and how to make one."""
    return card("Datasets", Dataset.objects.visible_to(request.user), url="dataset_list",
                action=("dataset_create", "Create a dataset"),
                empty_text="No dataset yet: create one, then upload labelled images or a ZIP of class folders.")
