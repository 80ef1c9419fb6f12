"""Where images went: the class names of frozen versions and the training runs that used them."""

from django.apps import apps
from django.urls import NoReverseMatch, reverse


def class_name_list(version) -> list[str]:
    """Return the version's class names in index order (stored as a list, or a dict keyed by index)."""
    names = version.class_names or []
    if isinstance(names, dict):
        return [names[k] for k in sorted(names, key=int)]
    return list(names)


def class_name(version, index: int) -> str:
    """Return the class name a version gave `index`."""
    names = class_name_list(version)
    return names[index] if 0 <= index < len(names) else "unlabelled"


def runs_by_version(version_ids) -> dict[int, list[dict]]:
    """Return version id -> [{"run", "url"}] of the training runs on those versions (the runs app is optional)."""
    try:
        training_run = apps.get_model("runs", "TrainingRun")
    except LookupError:
        return {}
    found: dict[int, list[dict]] = {}
    for run in training_run.objects.filter(version_id__in=version_ids).only("id", "name", "status", "version_id"):
        found.setdefault(run.version_id, []).append({"run": run, "url": run_url(run)})
    return found


def run_url(run) -> str | None:
    """Return the run's page if the runs pages exist yet."""
    try:
        return reverse("run_detail", args=[run.pk])
    except NoReverseMatch:
        return None
