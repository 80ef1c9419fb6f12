"""The dataset list, creating and editing a dataset, and the dataset page with its health panel."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from webapp.datasets.forms import DatasetForm
from webapp.datasets.models import Dataset, Split
from webapp.datasets.services.access import dataset_for
from webapp.datasets.services.datasets import delete_dataset, with_counts
from webapp.datasets.services.health import dataset_health
from webapp.datasets.services.versions import dataset_changed_since_last_version

RECENT = 5
SPLITS = list(Split.values)  # train, val, test, unassigned


@require_GET
def dataset_list(request):
    """List the datasets the user may see, with their sizes."""
    datasets = with_counts(Dataset.objects.visible_to(request.user).select_related("owner"))
    return render(request, "datasets/list.html", {"datasets": datasets})


@require_http_methods(["GET", "POST"])
def dataset_create(request):
    """Create a dataset owned by the user, then go to its upload page."""
    form = DatasetForm(request.POST or None, owner=request.user)
    dataset = save_or_explain(form) if request.method == "POST" and form.is_valid() else None
    if dataset is not None:
        messages.success(request, f"Dataset “{dataset.name}” created. Now add images: upload them or import a ZIP.")
        return redirect("dataset_upload", pk=dataset.pk)
    return render(request, "datasets/create.html", {"form": form})


@require_http_methods(["GET", "POST"])
def dataset_edit(request, pk):
    """Rename a dataset or change its description."""
    dataset = dataset_for(request.user, pk)
    form = DatasetForm(request.POST or None, instance=dataset, owner=dataset.owner)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Dataset saved.")
        return redirect("dataset_detail", pk=dataset.pk)
    return render(request, "datasets/edit.html", {"dataset": dataset, "form": form, "tab": "overview"})


@require_http_methods(["GET", "POST"])
def dataset_delete(request, pk):
    """Ask, then delete a dataset with its images, versions and files (not while a run uses a version)."""
    dataset = dataset_for(request.user, pk)
    problem = ""
    if request.method == "POST":
        name = dataset.name
        try:
            delete_dataset(dataset)
        except ValidationError as exc:
            problem = " ".join(exc.messages)
        else:
            messages.success(request, f"Dataset “{name}” deleted.")
            return redirect("dataset_list")
    counts = with_counts(Dataset.objects.filter(pk=dataset.pk)).get()
    return render(request, "datasets/delete.html", {"dataset": dataset, "counts": counts, "problem": problem,
                                                     "tab": "overview"}, status=400 if problem else 200)


def save_or_explain(form):
    """Return the saved object, or None with the service's refusal put beside the name field."""
    try:
        return form.save()
    except ValidationError as exc:
        form.add_error("name", exc)
        return None


@require_GET
def dataset_detail(request, pk):
    """Show the dataset's health (class balance, splits, duplicates, rejections, sizes), imports and versions."""
    dataset = dataset_for(request.user, pk)
    health = dataset_health(dataset)
    context = {
        "dataset": dataset,
        "tab": "overview",
        "health": health,
        "chart": class_chart(health),
        "split_rows": split_rows(health),
        "splits": SPLITS,
        "imports": dataset.imports.all()[:RECENT],
        "versions": dataset.versions.all()[:RECENT],
        "changed": dataset_changed_since_last_version(dataset),
    }
    return render(request, "datasets/detail.html", context)


def class_chart(health: dict) -> dict:
    """Return the bar chart's data: class names and, per split, each class's count (stacked bars)."""
    classes = health["classes"]
    return {
        "labels": [c["name"] for c in classes],
        "series": [{"split": s, "label": Split(s).label.capitalize(), "counts": [c["per_split"][s] for c in classes]}
                   for s in SPLITS],
    }


def split_rows(health: dict) -> list[dict]:
    """Return the per-split table: one row per class (then unlabelled), each split's count flagged when too few."""
    low = {(item["class_id"], item["split"]) for item in health["too_few"]}
    rows = [{"name": c["name"], "id": c["id"], "total": c["count"],
             "cells": [{"count": c["per_split"][s], "low": (c["id"], s) in low} for s in SPLITS]}
            for c in health["classes"]]
    if health["unlabelled"]:
        rows.append({"name": "unlabelled", "id": None, "total": health["unlabelled"],
                     "cells": [{"count": health["unlabelled_per_split"][s], "low": False} for s in SPLITS]})
    return rows
