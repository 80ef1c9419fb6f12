"""An image's label history, newest first, for its page."""

from webapp.labelling.models import LabelEvent


def label_history(image, limit: int = 50) -> list[LabelEvent]:
    """Return the image's latest labelling events (with who made them), newest first."""
    return list(LabelEvent.objects.filter(image=image).select_related("user")[:limit])
