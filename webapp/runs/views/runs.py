"""Training runs: the list, the launch form, the live run page and its JSON, cancel, resume and re-run."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import F
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from webapp.core.ids import parse_id
from webapp.datasets.models import Dataset, DatasetVersion
from webapp.runs.forms import LaunchForm
from webapp.runs.models import ModelArtifact, RunStatus
from webapp.runs.services import health
from webapp.runs.services.access import get_run, primary_top1, visible_runs
from webapp.runs.services.architectures import NETWORK_PREFIX
from webapp.runs.services.control import RunStateError, cancel_run, rerun_initial, resume_run
from webapp.runs.services.init_from import started_from
from webapp.runs.services.launch import launch_run
from webapp.runs.services.recipes import RECIPE_KEY, augmentation_note
from webapp.runs.services.status import PHASES, run_status
from webapp.runs.templatetags.runs_format import duration, when
from webapp.runs.views.launch_layout import form_sections

# Timings shown on their own rows of the run page, not among the phases of an attempt.
STANDARD_TIMINGS = {"waited_s", "elapsed_s", "heartbeat_age_s", "train_seconds"}
SORTS = {
    "newest": ("Newest first", ["-created_at", "-id"]),
    "oldest": ("Oldest first", ["created_at", "id"]),
    "top1": ("Best top-1 first", [F("top1").desc(nulls_last=True), "-id"]),
    "duration": ("Longest first", [F("train_seconds").desc(nulls_last=True), "-id"]),
    "name": ("Name", ["name", "id"]),
}


@require_GET
def run_list(request):
    """List runs with their status, dataset, architecture, top-1 and duration; filter and sort."""
    mine = visible_runs(request.user)
    runs = mine.annotate(top1=primary_top1())
    status, dataset, arch = (request.GET.get(key, "") for key in ("status", "dataset", "arch"))
    if status in RunStatus.values:
        runs = runs.filter(status=status)
    if parse_id(dataset) is not None:
        runs = runs.filter(version__dataset_id=parse_id(dataset))
    if arch and "\x00" not in arch:  # PostgreSQL refuses NUL in text: no architecture is named with one
        runs = runs.filter(arch=arch)
    sort = request.GET.get("sort") if request.GET.get("sort") in SORTS else "newest"
    page = Paginator(runs.order_by(*SORTS[sort][1]), 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "runs/list.html", {
        "page": page, "runs": page.object_list, "total": mine.count(),
        "filters": {"status": status, "dataset": dataset, "arch": arch, "sort": sort},
        "statuses": RunStatus.choices,
        "datasets": Dataset.objects.visible_to(request.user).filter(versions__runs__isnull=False).distinct()
        .order_by("name"),
        "archs": sorted(set(mine.values_list("arch", flat=True))),
        "sorts": [(key, label) for key, (label, _) in SORTS.items()],
        "query": query.urlencode(),
    })


def _render_form(request, form, *, source=None):
    recipe_line = form.recipe.explanation if form.is_bound and form.recipe else ""
    return render(request, "runs/new.html", {"form": form, "source": source, "recipe_line": recipe_line,
                                             **form_sections(form)})


@never_cache
@require_GET
def run_recipe_json(request):
    """Answer the recipe the launch form's current choices would get, in one line, for the form to show."""
    form = LaunchForm(request.GET, user=request.user)
    form.is_valid()  # fills form.recipe once the data and architecture are known; other errors wait for Train
    return JsonResponse({"recipe": form.recipe.explanation if form.recipe else "",
                         "augmentation": augmentation_note(form.profile) if form.profile else ""})


@require_http_methods(["GET", "POST"])
def run_new(request):
    """Show the launch form; on a valid POST launch the run and open its page."""
    if request.method == "POST":
        form = LaunchForm(request.POST, user=request.user)
        if form.is_valid():
            run = launch_run(request.user, form.resolved)
            messages.success(request, f"{run} is queued; it starts as soon as a worker is free.")
            return redirect("run_detail", pk=run.pk)
        return _render_form(request, form)
    initial = {}
    for key in ("dataset", "version", "arch", "network"):
        if request.GET.get(key):
            initial[key] = request.GET[key]
    if "network" in initial:
        initial.setdefault("arch", f"{NETWORK_PREFIX}{initial.pop('network')}")
    return _render_form(request, LaunchForm(user=request.user, initial=initial))


@require_GET
def run_rerun(request, pk):
    """Open the launch form filled with another run's settings."""
    run = get_run(request.user, pk)
    return _render_form(request, LaunchForm(user=request.user, initial=rerun_initial(run)), source=run)


def status_payload(run) -> dict:
    """Return run_status(run) plus the links the page shows without a reload (results, weights)."""
    data = run_status(run)
    versions = {v.pk: str(v) for v in DatasetVersion.objects.filter(
        pk__in={e["version_id"] for e in data["evaluations"]}).select_related("dataset")}
    for evaluation in data["evaluations"]:
        evaluation["url"] = reverse("evaluation_detail", args=[evaluation["id"]])
        evaluation["version"] = versions.get(evaluation["version_id"], "")
    has_weights = run.artifacts.filter(kind=ModelArtifact.Kind.WEIGHTS).exists()
    data["weights_url"] = reverse("run_weights", args=[run.pk]) if has_weights else None
    data["evaluate_url"] = reverse("run_evaluate", args=[run.pk]) if run.status == RunStatus.SUCCEEDED else None
    data["model_card_url"] = (reverse("classify_model_card", args=["run", run.pk])
                              if run.status == RunStatus.SUCCEEDED else None)
    data["can_rerun_suggested"] = health.can_rerun(run)
    # Times drawn by the server, so the live page writes them as the page does and in the same time zone.
    data["shown_times"] = {name: when(getattr(run, name)) for name in ("created_at", "started_at", "finished_at")}
    data["timings_text"] = timings_text(data["timings"], data["attempts"])
    data["train_time_text"] = train_time_text(data["timings"], data["attempts"], data["is_active"])
    return data


def _phases_text(timings: dict) -> str:
    """Return one attempt's phase timings in words ("cache 2 s · fit 1 min 12 s"), or "" when none is known."""
    # In the order the phases happen, not the stored order (PostgreSQL's jsonb sorts keys by length).
    order = {key: i for i, key in enumerate(PHASES)}
    keys = sorted(timings, key=lambda key: (order.get(key, len(order)), key))
    return " · ".join(f"{key[:-2].replace('_', ' ')} {duration(timings[key])}" for key in keys
                      if key.endswith("_s") and key not in STANDARD_TIMINGS and isinstance(timings[key], int | float))


def timings_text(timings: dict, attempts: int) -> str:
    """Return the phase timings of each attempt in words: the latest one's, then the earlier ones' together.

    "Training time" sums every attempt's epochs; these phases (cache, fit, evaluate) also hold each attempt's
    set-up, so a resumed run names the attempt each belongs to rather than show two times that seem to disagree.
    """
    latest = _phases_text(timings)
    earlier = timings.get("earlier") if isinstance(timings.get("earlier"), dict) else None
    if attempts <= 1:
        return latest or "—"
    if earlier is None:  # a row from before attempts were kept apart: only the latest attempt's are known
        return f"attempt {attempts} only: {latest}" if latest else "—"
    before = earlier.get("attempts") or attempts - 1
    named = "attempt 1" if before == 1 else f"attempts 1–{before} together"
    return f"attempt {attempts}: {latest or '—'}; {named}: {_phases_text(earlier) or '—'}"


def train_time_text(timings: dict, attempts: int, active: bool) -> str:
    """Return the run's training time: its epochs' seconds over every attempt, saying so after a resume."""
    if timings.get("train_seconds") is None:
        return duration(timings.get("elapsed_s"))  # a first attempt still training: its time so far
    text = duration(timings["train_seconds"])
    return text if attempts <= 1 or active else f"{text} in the epochs of {attempts} attempts"


@require_GET
def run_detail(request, pk):
    """Show a run: status, live progress and curves, settings, where it ran, and what went wrong."""
    run = get_run(request.user, pk)
    payload = status_payload(run)
    config = sorted((key, value) for key, value in run.config.items() if key != RECIPE_KEY)
    return render(request, "runs/detail.html", {"run": run, "status": payload, "config": config,
                                                "recipe": run.config.get(RECIPE_KEY, ""),
                                                "started_from": started_from(run, request.user)})


@never_cache
@require_GET
def run_status_json(request, pk):
    """Answer the run's status, progress and per-epoch metrics as JSON for the page to poll."""
    return JsonResponse(status_payload(get_run(request.user, pk)))


def _control(request, pk, action, done: str):
    """Apply cancel or resume, telling the person what happened or why it could not."""
    run = get_run(request.user, pk)
    try:
        action(run)
    except RunStateError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, done.format(run=run))
    return redirect("run_detail", pk=run.pk)


@require_POST
def run_cancel(request, pk):
    """Ask a queued or running run to stop; it keeps its checkpoint."""
    return _control(request, pk, cancel_run, "Asked {run} to stop; it keeps its last checkpoint.")


@require_POST
def run_rerun_suggested(request, pk):
    """Launch the run again with its health check's suggested settings and open the new run."""
    run = get_run(request.user, pk)
    try:
        new = health.rerun_with_suggestions(request.user, run)
    except health.RerunError as error:
        messages.error(request, error.message)
        return redirect("run_detail", pk=run.pk)
    messages.success(request, f"{new} is queued with the suggested settings.")
    return redirect("run_detail", pk=new.pk)


@require_POST
def run_resume(request, pk):
    """Continue a cancelled or failed run from its last checkpoint."""
    return _control(request, pk, resume_run, "{run} is queued to continue from its last checkpoint.")
