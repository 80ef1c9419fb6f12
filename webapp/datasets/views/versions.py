"""Frozen versions: the list, freezing one, a version's counts, and its ImageFolder ZIP download."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from webapp.datachecks.services.checks import version_warnings
from webapp.datasets.forms import FreezeVersionForm
from webapp.datasets.models import DatasetVersion, Split
from webapp.datasets.services.access import dataset_for
from webapp.datasets.services.versions import (
    dataset_changed_since_last_version,
    export_filename,
    export_version_zip,
    freeze_version,
)
from webapp.datasets.views.history import class_name_list, runs_by_version

SPLITS = [Split.TRAIN.value, Split.VAL.value, Split.TEST.value]  # versions hold only assigned images


def version_for(dataset, number) -> DatasetVersion:
    """Return version `number` of `dataset`, or raise Http404."""
    try:
        return dataset.versions.get(number=number)
    except DatasetVersion.DoesNotExist:
        raise Http404("No such version.") from None


def split_counts(version) -> list[int]:
    """Return the version's image counts in Split order."""
    per_split = (version.counts or {}).get("per_split", {})
    return [per_split.get(s, 0) for s in SPLITS]


def _list(request, dataset, form, status=200):
    versions = list(dataset.versions.select_related("created_by"))
    for version in versions:
        version.split_counts = split_counts(version)
    context = {
        "dataset": dataset,
        "tab": "versions",
        "versions": versions,
        "form": form,
        "changed": dataset_changed_since_last_version(dataset),
        "splits": SPLITS,
    }
    return render(request, "datasets/versions.html", context, status=status)


@require_GET
def version_list(request, pk):
    """List the dataset's frozen versions, newest first."""
    dataset = dataset_for(request.user, pk)
    return _list(request, dataset, FreezeVersionForm())


@require_POST
def version_freeze(request, pk):
    """Freeze the dataset as it is now into a new version."""
    dataset = dataset_for(request.user, pk)
    form = FreezeVersionForm(request.POST)
    if form.is_valid():
        latest = dataset.versions.order_by("-number").first()
        try:
            version = freeze_version(dataset, user=request.user, note=form.cleaned_data["note"])
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            if version == latest:
                messages.info(request, f"Nothing changed since version {version.number}, so no new version was made.")
            else:
                total = version.counts.get("total", 0)
                messages.success(request, f"Version {version.number} frozen: {total} images.")
                for warning in version_warnings(version):  # webapp.datachecks: near-copies across its splits
                    messages.warning(request, f"{warning} Fix the groups on Data checks, then freeze again.")
            return redirect("version_detail", pk=dataset.pk, number=version.number)
    return _list(request, dataset, form, status=400)


# The words for the labelling app's origins (labelling.models.Origin), which counts it adds at a freeze.
ORIGIN_WORDS = {"hand": "by hand", "suggestion": "suggestions accepted", "bulk": "bulk accepts",
                "unrecorded": "given at upload or import"}


def origin_counts(counts: dict) -> list[tuple[str, int]]:
    """Return [(how, images)] of the version's labels per origin, empty for versions frozen before it was counted."""
    per_origin = counts.get("per_origin") or {}
    return [(ORIGIN_WORDS.get(origin, origin), n) for origin, n in per_origin.items() if n]


@require_GET
def version_detail(request, pk, number):
    """Show a version's classes with their counts per split."""
    dataset = dataset_for(request.user, pk)
    version = version_for(dataset, number)
    counts = version.counts or {}
    per_class = counts.get("per_class", {})
    rows = [{"index": i, "name": name, "splits": [per_class.get(name, {}).get(s, 0) for s in SPLITS],
             "total": sum(per_class.get(name, {}).values())}
            for i, name in enumerate(class_name_list(version))]
    context = {
        "dataset": dataset,
        "tab": "versions",
        "version": version,
        "rows": rows,
        "splits": SPLITS,
        "per_split": list(zip(SPLITS, split_counts(version), strict=True)),
        "left_out": counts.get("left_out", {}),
        "per_origin": origin_counts(counts),
        "runs": runs_by_version([version.pk]).get(version.pk, []),
    }
    return render(request, "datasets/version_detail.html", context)



@require_GET
def version_download(request, pk, number):
    """Stream the version as an ImageFolder ZIP (split/class/image), built while it is sent."""
    dataset = dataset_for(request.user, pk)
    version = version_for(dataset, number)
    response = StreamingHttpResponse(export_version_zip(version), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{export_filename(version)}"'
    return response
