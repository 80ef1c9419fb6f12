"""The launch form's leakage warning as JSON, for its script to follow the dataset and version pickers."""

from __future__ import annotations

from django.http import JsonResponse
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from webapp.datachecks.services import duplicates
from webapp.datachecks.templatetags.datachecks import chosen_data


@never_cache
@require_GET
def leakage_json(request):
    """Answer the leakage sentences of ?dataset= (its live images) or ?version= (its frozen splits)."""
    dataset, version = chosen_data(request.GET, request.user)
    if dataset is None:
        return JsonResponse({"warnings": []})
    counts = (duplicates.version_report(version) if version else duplicates.dataset_report(dataset)).counts()
    title = f"{dataset.name}{f' v{version.number}' if version else ''} leaks between splits"
    return JsonResponse({"warnings": duplicates.warnings(counts), "title": title,
                         "fix_url": reverse("datachecks_page", args=[dataset.pk])})
