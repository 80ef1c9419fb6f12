"""Outliers of a version (embeddings from a trained run) and "More like this" for one image."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from webapp.core.errors import FieldError
from webapp.datachecks.forms import LabelCheckForm
from webapp.datachecks.models import CheckKind
from webapp.datachecks.services import checks, outliers
from webapp.datachecks.services.access import dataset_for
from webapp.datachecks.services.present import check_payload
from webapp.datasets.services.access import image_for


def _page(request, dataset, *, status: int = 200):
    check = checks.latest(dataset, kind=CheckKind.OUTLIERS)
    context = {"dataset": dataset, "tab": "checks", "form": LabelCheckForm(dataset=dataset), "check": check,
               "job": check_payload(check), "model": outliers.embedding_model(dataset),
               "outliers": outliers.outliers(check) if check is not None and check.status == "succeeded" else []}
    return render(request, "datachecks/outliers.html", context, status=status)


@require_GET
def outliers_page(request, pk):
    """Show the images of a version farthest from their own class, from the latest outlier check."""
    return _page(request, dataset_for(request.user, pk))


@require_POST
def outliers_start(request, pk):
    """Queue embedding a version's images with the newest run's model and scoring outliers."""
    dataset = dataset_for(request.user, pk)
    form = LabelCheckForm(request.POST, dataset=dataset)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return _page(request, dataset, status=400)
    try:
        check = outliers.start_outlier_check(dataset, request.user, form.cleaned_data["version"])
    except FieldError as exc:
        messages.error(request, exc.message)
        return _page(request, dataset, status=exc.status)
    messages.success(request, f"Outlier check {check.pk} of v{check.version.number} is queued.")
    return redirect("datachecks_outliers", pk=dataset.pk)


@require_GET
def similar_page(request, pk, image_pk):
    """Show the images most like one image (cosine similarity of stored embeddings)."""
    dataset = dataset_for(request.user, pk)
    image = image_for(dataset, image_pk)
    check, found = outliers.similar(dataset, image)
    return render(request, "datachecks/similar.html", {"dataset": dataset, "tab": "checks", "image": image,
                                                       "check": check, "similar": found})
