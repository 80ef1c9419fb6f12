"""Who may see which job, explanation, imported model and run file: every page and endpoint loads through here.

Anything a user may not see is a 404, never a 403.
"""

from django.http import Http404

from webapp.classify.models import ClassificationJob, Explanation, ImportedModel
from webapp.core.ownership import get_visible_or_404
from webapp.runs.models import ModelArtifact, TrainingRun


def get_job(user, pk) -> ClassificationJob:
    """Return the job `pk` if `user` may see it; raise Http404 otherwise."""
    return get_visible_or_404(ClassificationJob.objects.select_related("version__dataset", "evaluation"), user, pk=pk)


def get_explanation(user, pk) -> Explanation:
    """Return the explanation `pk` if `user` may see it; raise Http404 otherwise."""
    return get_visible_or_404(Explanation, user, pk=pk)


def get_imported(user, pk) -> ImportedModel:
    """Return the imported model `pk` if `user` may see it; raise Http404 otherwise."""
    return get_visible_or_404(ImportedModel, user, pk=pk)


def visible_artifacts(user):
    """Return the weights, checkpoints and exports of the runs `user` may see."""
    runs = TrainingRun.objects.visible_to(user).values("pk")
    return ModelArtifact.objects.filter(run__in=runs).select_related("run")


def get_downloadable(user, pk) -> ModelArtifact:
    """Return a run file `user` may download (not an export still running or failed); raise Http404 otherwise."""
    artifact = visible_artifacts(user).filter(pk=pk).first()
    if artifact is None or (artifact.details or {}).get("state") in ("queued", "running", "failed"):
        raise Http404("No such file.")
    return artifact
