"""The training runs card on the dashboard."""

from webapp.core.dashboard import card
from webapp.runs.models import ACTIVE_STATUSES, TrainingRun


def runs_section(request) -> dict:
    """Return the dashboard card: how many runs the user may see, how many are active, and how to start one."""
    return card("Training runs", TrainingRun.objects.visible_to(request.user), active=ACTIVE_STATUSES,
                url="run_list", action=("run_new", "New run"),
                empty_text="No run yet: pick a dataset and an architecture, press Train, and watch it learn.")
