"""The training-runs REST API: runs, evaluations with their predictions, and custom networks."""

from __future__ import annotations

from django.db.models import F
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from webapp.api.docs import answers
from webapp.api.ownership import VisibleToUserMixin
from webapp.api.router import router
from webapp.api.validation import Pages, query_params
from webapp.runs import serializers as s
from webapp.runs.forms import LaunchForm
from webapp.runs.models import CustomNetwork, EvalPrediction, Evaluation, TrainingRun
from webapp.runs.services import health
from webapp.runs.services.access import primary_top1, visible_versions
from webapp.runs.services.control import RunStateError, cancel_run, resume_run
from webapp.runs.services.evaluations import evaluate_on_version
from webapp.runs.services.launch import launch_run
from webapp.runs.services.networks import network_shapes
from webapp.runs.services.retrain import RetrainError, retrain
from webapp.runs.services.status import run_status


class PredictionPages(Pages):
    page_size = 100
    max_page_size = 1000


@extend_schema_view(
    list=extend_schema(summary="List runs", parameters=[s.RunFilterSerializer],
                       responses=answers({200: s.RunSerializer(many=True)}, 400, 401, 404)),
    retrieve=extend_schema(summary="A run in full", responses=answers({200: s.RunDetailSerializer})),
    create=extend_schema(summary="Launch a run (validated like the form: per-field errors on 400)",
                         request=s.LaunchRequestSerializer,
                         responses=answers({201: s.RunDetailSerializer}, 400, 401)),
)
class RunViewSet(VisibleToUserMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                 viewsets.GenericViewSet):
    """Training runs you or your team launched: launch one, follow it, cancel or resume it, evaluate its model."""

    queryset = TrainingRun.objects.select_related("version__dataset", "owner", "network")
    serializer_class = s.RunSerializer

    def get_queryset(self):
        queryset = super().get_queryset().annotate(top1=primary_top1())  # the run list page's top-1, exactly
        if self.action != "list":
            return queryset
        params = query_params(self.request, s.RunFilterSerializer)
        if params.get("status"):
            queryset = queryset.filter(status=params["status"])
        if params.get("arch"):
            queryset = queryset.filter(arch=params["arch"])
        for name, lookup in (("dataset", "version__dataset_id"), ("version", "version_id")):
            if name in params:
                queryset = queryset.filter(**{lookup: params[name]})
        ordering = params.get("ordering", "-created")
        field = s.RUN_ORDERING[ordering.lstrip("-")]
        return queryset.order_by(f"-{field}" if ordering.startswith("-") else field, "-id")

    def get_serializer_class(self):
        return s.RunDetailSerializer if self.action == "retrieve" else s.RunSerializer

    def create(self, request, *args, **kwargs):
        """Launch a run on a dataset (or version) with an architecture; empty settings take its defaults."""
        # The documented shape and JSON types first (a form would read 3 as "3"); then the form's own checks.
        s.LaunchRequestSerializer(data=request.data).is_valid(raise_exception=True)
        form = LaunchForm(data=request.data, user=request.user)
        if not form.is_valid():
            errors = {("non_field_errors" if k == "__all__" else k): v for k, v in form.errors.items()}
            return Response(errors, status=status.HTTP_400_BAD_REQUEST)
        run = launch_run(request.user, form.resolved)
        return self._created(run)

    def _created(self, run) -> Response:
        """Answer 201 with the new run in full."""
        serializer = s.RunDetailSerializer(self.get_queryset().get(pk=run.pk), context=self.get_serializer_context())
        return Response(serializer.data, status=status.HTTP_201_CREATED)

    def _act(self, fn):
        run = self.get_object()
        try:
            fn(run)
        except RunStateError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(run_status(run))

    @extend_schema(summary="Cancel a queued or running run (a running one stops within seconds, keeping "
                           "its checkpoint)", request=None,
                   responses=answers({200: OpenApiTypes.OBJECT}, 401, 404, 409))
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel the run and answer its live status; a run that already finished answers 409."""
        return self._act(cancel_run)

    @extend_schema(summary="Resume a cancelled, failed or interrupted run from its last checkpoint", request=None,
                   responses=answers({200: OpenApiTypes.OBJECT}, 401, 404, 409))
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        """Queue the run again from its last checkpoint and answer its live status; 409 if it cannot resume."""
        return self._act(resume_run)

    @extend_schema(summary="Re-run with the health check's suggested settings (a new queued run; 409 when there "
                           "are none)", request=None,
                   responses=answers({201: s.RunDetailSerializer}, 401, 404, 409))
    @action(detail=True, methods=["post"])
    def rerun(self, request, pk=None):
        """Launch the run again on its data version with its `health` warnings' `suggested` settings."""
        try:
            run = health.rerun_with_suggestions(request.user, self.get_object())
        except health.RerunError as exc:
            return Response({"detail": exc.message}, status=status.HTTP_409_CONFLICT)
        return self._created(run)

    @extend_schema(summary="Retrain with the new labels: freeze the run's dataset as it is now and launch a run on "
                           "it starting from this run, with its settings (409 when the run did not succeed, has "
                           "no weights, or the data can no longer train)", request=None,
                   responses=answers({201: s.RunDetailSerializer}, 401, 404, 409))
    @action(detail=True, methods=["post"])
    def retrain(self, request, pk=None):
        """Launch a run on the dataset's current labels (frozen now if changed), starting from this run's model."""
        try:
            run = retrain(request.user, self.get_object())
        except RetrainError as exc:
            return Response({"detail": exc.message}, status=status.HTTP_409_CONFLICT)
        return self._created(run)

    @extend_schema(summary="Per-epoch metrics (the curves)",
                   responses=answers({200: s.EpochMetricSerializer(many=True)}))
    @action(detail=True, methods=["get"], pagination_class=None)
    def epochs(self, request, pk=None):
        """Return one row per finished epoch: losses, accuracies, learning rate and speed, in epoch order."""
        run = self.get_object()
        return Response(s.EpochMetricSerializer(run.epochs.order_by("epoch"), many=True).data)

    @extend_schema(summary="Live status: progress, epochs so far, warnings, error, timings",
                   parameters=[s.RunStatusQuerySerializer],
                   responses=answers({200: OpenApiTypes.OBJECT}, 400, 401, 404))
    @action(detail=True, methods=["get"], url_path="status")
    def live_status(self, request, pk=None):
        """Return what the run page polls: status, progress, the epochs after `since_epoch`, warnings, error."""
        since = query_params(request, s.RunStatusQuerySerializer).get("since_epoch", 0)
        return Response(run_status(self.get_object(), since_epoch=since))

    @extend_schema(summary="Evaluate the finished model on a dataset version's split (queued; poll the evaluation)",
                   request=s.EvaluateRequestSerializer, responses=answers({202: s.EvaluationSerializer}, 400, 401, 404))
    @action(detail=True, methods=["post"])
    def evaluate(self, request, pk=None):
        """Queue an evaluation of the run's model on a version's split; answer 202 with the evaluation to poll."""
        run = self.get_object()
        body = s.EvaluateRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        version = visible_versions(request.user).filter(pk=body.validated_data["version"]).first()
        if version is None:
            return Response({"version": ["No such dataset version."]}, status=status.HTTP_400_BAD_REQUEST)
        evaluation = evaluate_on_version(run, version, body.validated_data["split"], user=request.user)
        return Response(s.EvaluationSerializer(evaluation).data, status=status.HTTP_202_ACCEPTED)


@extend_schema_view(
    list=extend_schema(summary="List evaluations", parameters=[s.EvaluationFilterSerializer],
                       responses=answers({200: s.EvaluationSerializer(many=True)}, 400, 401, 404)),
    retrieve=extend_schema(summary="An evaluation with its confusion matrix and per-class metrics",
                           responses=answers({200: s.EvaluationDetailSerializer})),
)
class EvaluationViewSet(viewsets.ReadOnlyModelViewSet):
    """Evaluations of the runs you may see: a model's scores on one split of a dataset version."""

    queryset = Evaluation.objects.all()
    serializer_class = s.EvaluationSerializer

    def get_queryset(self):
        runs = TrainingRun.objects.visible_to(self.request.user).values("pk")
        queryset = Evaluation.objects.filter(run__in=runs).order_by("-created_at", "-id")
        if self.action == "list":
            params = query_params(self.request, s.EvaluationFilterSerializer)
            for name in ("run", "version"):
                if name in params:
                    queryset = queryset.filter(**{f"{name}_id": params[name]})
            if params.get("split"):
                queryset = queryset.filter(split=params["split"])
        return queryset

    def get_serializer_class(self):
        return s.EvaluationDetailSerializer if self.action == "retrieve" else s.EvaluationSerializer

    @extend_schema(summary="Per-image predictions, filterable by true and predicted class (a confusion-matrix cell)",
                   parameters=[s.PredictionFilterSerializer],
                   responses=answers({200: s.EvalPredictionSerializer(many=True)}, 400, 401, 404))
    @action(detail=True, methods=["get"], pagination_class=PredictionPages)
    def predictions(self, request, pk=None):
        """Page through the evaluation's per-image predictions, most confident first unless `ordering` says."""
        evaluation = self.get_object()
        params = query_params(request, s.PredictionFilterSerializer)
        rows = EvalPrediction.objects.filter(evaluation=evaluation)
        for name, field in (("true", "true_index"), ("predicted", "predicted_index")):
            if name in params:
                rows = rows.filter(**{field: params[name]})
        if params.get("correct") is True:
            rows = rows.filter(true_index=F("predicted_index"))
        elif params.get("correct") is False:
            rows = rows.exclude(true_index=F("predicted_index"))
        ordering = params.get("ordering", "-confidence")
        page = self.paginate_queryset(rows.order_by(ordering, "id"))
        context = {"class_names": evaluation.class_names}
        return self.get_paginated_response(s.EvalPredictionSerializer(page, many=True, context=context).data)


@extend_schema_view(
    list=extend_schema(summary="Your networks (and your teams')",
                       responses=answers({200: s.CustomNetworkSerializer(many=True)})),
    create=extend_schema(summary="Save a network (its shapes are checked at its image size)",
                         responses=answers({201: s.CustomNetworkSerializer}, 400, 401)),
    retrieve=extend_schema(summary="A network: its layers, image size and parameter count",
                           responses=answers({200: s.CustomNetworkSerializer})),
    update=extend_schema(summary="Replace a network's name, layers and image size (checked again)",
                         responses=answers({200: s.CustomNetworkSerializer}, 400, 401, 404)),
    partial_update=extend_schema(summary="Change some of a network's name, layers and image size (checked again)",
                                 responses=answers({200: s.CustomNetworkSerializer}, 400, 401, 404)),
    destroy=extend_schema(summary="Delete a network", responses=answers({204: None})),
)
class NetworkViewSet(VisibleToUserMixin, viewsets.ModelViewSet):
    """Custom networks: layer lists you design once and train as an architecture (`arch` = `net:<id>`)."""

    queryset = CustomNetwork.objects.select_related("owner")
    serializer_class = s.CustomNetworkSerializer

    @extend_schema(summary="Each layer's output shape and parameters, or the first layer that cannot work",
                   request=s.ShapesRequestSerializer, responses=answers({200: s.ShapesSerializer}, 400, 401))
    @action(detail=False, methods=["post"])
    def shapes(self, request):
        """Check a layer list without saving it: each layer's output shape and parameters, or what breaks."""
        body = s.ShapesRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return Response(network_shapes(body.validated_data["spec"], image_size=body.validated_data["image_size"],
                                       num_classes=body.validated_data["num_classes"]))


router.register("runs", RunViewSet, basename="run")
router.register("evaluations", EvaluationViewSet, basename="evaluation")
router.register("networks", NetworkViewSet, basename="network")
