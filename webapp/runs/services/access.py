"""Who may see which run, evaluation and network, and which evaluation stands for a run (its top-1).

Pages and the API load through here, so both show the same things to the same people.
"""

from django.db.models import Case, IntegerField, OuterRef, Q, Subquery, Value, When
from django.http import Http404

from webapp.core.ownership import get_visible_or_404
from webapp.datasets.models import Dataset, DatasetVersion, Split
from webapp.runs.models import CustomNetwork, Evaluation, EvaluationStatus, TrainingRun

# The split whose numbers stand for a run: the test split when it was measured, else validation.
SPLIT_PREFERENCE = Case(When(split=Split.TEST, then=Value(0)), When(split=Split.VAL, then=Value(1)),
                        default=Value(2), output_field=IntegerField())


def visible_runs(user):
    """Return the runs `user` may see, with their dataset loaded."""
    return TrainingRun.objects.visible_to(user).select_related("version__dataset", "network")


def get_run(user, pk) -> TrainingRun:
    """Return the run `pk` if `user` may see it, else raise Http404."""
    return get_visible_or_404(visible_runs(user), user, pk=pk)


def visible_evaluations(user):
    """Return evaluations of runs `user` may see (or, without a run, of datasets they may see)."""
    runs = TrainingRun.objects.visible_to(user).values("pk")
    datasets = Dataset.objects.visible_to(user).values("pk")
    return Evaluation.objects.filter(
        Q(run__in=runs) | Q(run__isnull=True, version__dataset__in=datasets)
    ).select_related("run", "version__dataset")


def get_evaluation(user, pk, *, finished: bool = False) -> Evaluation:
    """Return the evaluation `pk` if `user` may see it (and, with `finished`, it has numbers), else raise Http404."""
    try:
        evaluation = visible_evaluations(user).get(pk=pk)
    except (Evaluation.DoesNotExist, ValueError, TypeError):
        raise Http404("No such evaluation.") from None
    if finished and evaluation.status != EvaluationStatus.SUCCEEDED:
        raise Http404("This evaluation has no results yet.")
    return evaluation


def get_network(user, pk) -> CustomNetwork:
    """Return the custom network `pk` if `user` may see it, else raise Http404."""
    return get_visible_or_404(CustomNetwork, user, pk=pk)


def visible_versions(user):
    """Return the dataset versions `user` may evaluate on, newest first."""
    datasets = Dataset.objects.visible_to(user).values("pk")
    return DatasetVersion.objects.filter(dataset__in=datasets).select_related("dataset").order_by(
        "dataset__name", "-number")


def _standing(evaluations):
    """Order a run's finished evaluations so the first stands for it: test split first, then validation, newest."""
    return (evaluations.filter(status=EvaluationStatus.SUCCEEDED).annotate(rank=SPLIT_PREFERENCE)
            .order_by("rank", "-created_at"))


def primary_evaluation(run: TrainingRun) -> Evaluation | None:
    """Return the evaluation that stands for `run`: on its own version, test split first, newest."""
    return _standing(run.evaluations.filter(version_id=run.version_id)).first()


def primary_top1():
    """Return a subquery giving each run's top-1: that of its primary_evaluation(), for pages and the API alike."""
    own = Evaluation.objects.filter(run=OuterRef("pk"), version_id=OuterRef("version_id"))
    return Subquery(_standing(own).values("top1")[:1])
