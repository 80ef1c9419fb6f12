"""Import a ZIP (folders per class, or a labels CSV), watch its progress, and read its per-file report."""

from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from webapp.datasets.forms import ArchiveImportForm
from webapp.datasets.models import Import, ImportItem, ImportKind, ImportStatus
from webapp.datasets.services.access import dataset_for
from webapp.datasets.services.ingest import start_archive_import

REPORT_PAGE_SIZE = 100
FINISHED = (ImportStatus.SUCCEEDED, ImportStatus.FAILED)


def import_for(dataset, import_pk) -> Import:
    """Return one import of `dataset`, or raise Http404."""
    try:
        return dataset.imports.get(pk=import_pk)
    except (Import.DoesNotExist, ValueError):
        raise Http404("No such import.") from None


@require_http_methods(["GET", "POST"])
def import_create(request, pk):
    """Upload a ZIP and queue its import; then show its progress."""
    dataset = dataset_for(request.user, pk)
    form = ArchiveImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            job = start_archive_import(dataset, form.cleaned_data["archive"], user=request.user)
        except ValidationError as exc:
            form.add_error("archive", exc)
        else:
            return redirect("import_detail", pk=dataset.pk, import_pk=job.pk)
    imports = dataset.imports.filter(kind=ImportKind.ARCHIVE)[:10]
    return render(request, "datasets/import_new.html",
                  {"dataset": dataset, "tab": "import", "form": form, "imports": imports})


@require_GET
def import_detail(request, pk, import_pk):
    """Show an import's live progress and, once it has files, its per-file report (problems first on request)."""
    dataset = dataset_for(request.user, pk)
    job = import_for(dataset, import_pk)
    outcome = request.GET.get("outcome", "")
    items = job.items.select_related("image__label")
    if outcome in ImportItem.Outcome.values:
        items = items.filter(outcome=outcome)
    page = Paginator(items, REPORT_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "dataset": dataset,
        "tab": "import",
        "job": job,
        "page": page,
        "outcome": outcome,
        "query": f"outcome={outcome}" if outcome in ImportItem.Outcome.values else "",
        "outcomes": ImportItem.Outcome.choices,
        "finished": job.status in FINISHED,
        "status": status_json(job),
    }
    return render(request, "datasets/import_detail.html", context)


@never_cache
@require_GET
def import_status(request, pk, import_pk):
    """Answer the import's progress as JSON for the page's progress bar."""
    dataset = dataset_for(request.user, pk)
    return JsonResponse(status_json(import_for(dataset, import_pk)))


def status_json(job: Import) -> dict:
    """Return the counts, status and percentage the progress bar shows."""
    percent = round(100 * job.done / job.total, 1) if job.total else (100.0 if job.status in FINISHED else 0.0)
    return {
        "id": job.pk,
        "status": job.status,
        "kind": job.kind,
        "finished": job.status in FINISHED,
        "total": job.total,
        "done": job.done,
        "accepted": job.accepted,
        "rejected": job.rejected,
        "duplicates": job.duplicates,
        "conflicts": job.conflicts,
        "skipped": job.skipped,
        "percent": percent,
        "error": job.error,
        "started_at": job.started_at.isoformat() if job.started_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }
