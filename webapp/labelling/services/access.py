"""What a user may label: datasets they may see (anything else a 404), and the labelling events of one."""

from django.http import Http404

from webapp.datasets.services.access import dataset_for
from webapp.labelling.models import LabelEvent

__all__ = ["dataset_for", "event_for"]


def event_for(dataset, event_pk) -> LabelEvent:
    """Return one labelling event of `dataset`, or raise Http404."""
    try:
        return LabelEvent.objects.select_related("image").get(dataset=dataset, pk=event_pk)
    except (LabelEvent.DoesNotExist, ValueError, TypeError):
        raise Http404("No such label.") from None
