"""What a user may check and fix: datasets they may see (anything else a 404), and their checks and versions."""

from django.http import Http404

from webapp.core.ids import parse_id
from webapp.datachecks.models import DataCheck
from webapp.datasets.models import DatasetVersion
from webapp.datasets.services.access import dataset_for

__all__ = ["check_for", "dataset_for", "version_for"]


def check_for(user, pk) -> DataCheck:
    """Return check `pk` if its dataset is visible to `user`; raise Http404 otherwise."""
    pk = parse_id(pk)
    found = DataCheck.objects.filter(pk=pk).select_related("dataset", "version").first() if pk else None
    if found is None:
        raise Http404("No such check.")
    dataset_for(user, found.dataset_id)
    return found


def version_for(dataset, number) -> DatasetVersion:
    """Return version `number` of `dataset`, or raise Http404."""
    number = parse_id(number)
    found = dataset.versions.filter(number=number).first() if number else None
    if found is None:
        raise Http404("No such version.")
    return found
