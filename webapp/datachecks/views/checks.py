"""The Data checks page of a dataset: near-duplicate groups at a threshold, leakage, fixes, and the check job."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from webapp.core.errors import FieldError
from webapp.datachecks.forms import FixForm, ThresholdForm
from webapp.datachecks.models import CheckKind
from webapp.datachecks.services import checks, duplicates, fixes
from webapp.datachecks.services.access import dataset_for
from webapp.datachecks.services.present import MAX_GROUPS_SHOWN, check_payload, group_tiles


def _page_url(dataset, threshold: int | None = None) -> str:
    url = reverse("datachecks_page", args=[dataset.pk])
    if threshold is not None and threshold != duplicates.DEFAULT_THRESHOLD:
        url += "?" + urlencode({"threshold": threshold})
    return url


@require_GET
def checks_page(request, pk):
    """Show the dataset's near-duplicate groups at the chosen threshold, leaking ones first, with their fixes."""
    dataset = dataset_for(request.user, pk)
    form = ThresholdForm(request.GET)
    if form.is_valid():
        return _render_page(request, dataset, form, form.cleaned_data["threshold"])
    return _render_page(request, dataset, form, duplicates.DEFAULT_THRESHOLD, status=400)


def _render_page(request, dataset, form, threshold: int, *, status: int = 200, error: str = ""):
    if error:
        messages.error(request, error)
    report = duplicates.dataset_report(dataset, threshold)
    counts = report.counts()
    context = {
        "dataset": dataset, "tab": "checks", "form": form, "threshold": threshold,
        "default_threshold": duplicates.DEFAULT_THRESHOLD, "max_threshold": duplicates.MAX_THRESHOLD,
        "counts": counts, "warnings": duplicates.warnings(counts),
        "groups": group_tiles(dataset, report), "groups_shown_limit": MAX_GROUPS_SHOWN,
        "job": check_payload(checks.latest(dataset)),
        "version_checks": _version_checks(dataset),
    }
    return render(request, "datachecks/page.html", context, status=status)


def _version_checks(dataset, limit: int = 5) -> list:
    rows = list(dataset.data_checks.filter(version__isnull=False, kind=CheckKind.DUPLICATES)
                .select_related("version").order_by("-version__number", "-id")[:limit])
    for row in rows:
        row.warning_list = duplicates.warnings(row.counts or {})
    return rows


@require_POST
def check_start(request, pk):
    """Queue a check job: hash images that have none, then find near-duplicates and leakage."""
    dataset = dataset_for(request.user, pk)
    form = ThresholdForm(request.POST)
    if not form.is_valid():
        return _render_page(request, dataset, form, duplicates.DEFAULT_THRESHOLD, status=400,
                            error=" ".join(form.errors["threshold"]))
    threshold = form.cleaned_data["threshold"]
    check = checks.start_check(dataset, request.user, threshold=threshold)
    messages.success(request, f"Data check {check.pk} is queued: it hashes the images that have no hash yet, "
                              "then finds near-duplicates and leakage.")
    return redirect(_page_url(dataset, threshold))


@never_cache
@require_GET
def check_status(request, pk):
    """Answer the latest check job's state and progress (?kind=labels: the label check's), for the page to poll."""
    dataset = dataset_for(request.user, pk)
    wanted = request.GET.get("kind")
    kind = wanted if wanted in (CheckKind.LABELS, CheckKind.OUTLIERS) else CheckKind.DUPLICATES
    return JsonResponse({"check": check_payload(checks.latest(dataset, kind=kind))})


@require_POST
def fix_group(request, pk):
    """Fix one near-duplicate group (move it into one split, or keep one image), then show the page again."""
    dataset = dataset_for(request.user, pk)
    form = FixForm(request.POST)
    if not form.is_valid():
        problems = " ".join(e for errors in form.errors.values() for e in errors)
        return _render_page(request, dataset, ThresholdForm(), duplicates.DEFAULT_THRESHOLD, status=400,
                            error=f"Nothing was changed: {problems}")
    data = form.cleaned_data
    try:
        expected = fixes.parse_expected(data["state"])
        if data["move"]:
            done = fixes.move_group(dataset, form.image_ids(), data["move"], expected=expected)
        else:
            done = fixes.keep_one(dataset, form.image_ids(), data["keep"], expected=expected)
    except FieldError as exc:
        return _render_page(request, dataset, ThresholdForm({"threshold": data["threshold"]}), data["threshold"],
                            status=exc.status, error=exc.message)
    messages.success(request, done)
    return redirect(_page_url(dataset, data["threshold"]))
