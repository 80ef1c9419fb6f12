"""The classification card on the dashboard."""

from webapp.classify.models import ACTIVE_JOB_STATUSES, ClassificationJob
from webapp.core.dashboard import card


def classify_section(request) -> dict:
    """Return the dashboard card: batch jobs the user may see, how many are active, and where to classify."""
    return card("Classification jobs", ClassificationJob.objects.visible_to(request.user), active=ACTIVE_JOB_STATUSES,
                url="classify_home", action=("classify_home", "Classify images"),
                empty_text="No batch job yet: drop a photo on a trained model for a quick test, "
                           "or classify a whole ZIP.")
