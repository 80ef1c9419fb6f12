"""The training-runs REST API: runs, evaluations with their predictions, and custom networks."""

from __future__ import annotations

from django.db.models import F, OuterRef, Subquery
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

from webapp.api.ownership import VisibleToUserMixin
from webapp.api.router import router
from webapp.datasets.models import Dataset, DatasetVersion
from webapp.runs import serializers as s
from webapp.runs.launch_form import LaunchForm
from webapp.runs.models import CustomNetwork, EvalPrediction, Evaluation, RunStatus, TrainingRun
from webapp.runs.services.control import RunStateError, cancel_run, resume_run
from webapp.runs.services.evaluations import EvaluationRequestError, evaluate_on_version
from webapp.runs.services.networks import network_shapes
from webapp.runs.services.status import run_status

ERRORS = {
    400: OpenApiResponse(s.RunErrorSerializer, description="Invalid: the fields (or `detail`) say why."),
    401: OpenApiResponse(s.RunErrorSerializer, description="Not signed in: send a session or `Authorization: Token`."),
    404: OpenApiResponse(s.RunErrorSerializer, description="No such object, or it is not shared with you."),
    409: OpenApiResponse(s.RunErrorSerializer, description="The run is not in a state that allows this."),
}
RUN_ORDERING = {"created": "created_at", "finished": "finished_at", "status": "status", "arch": "arch",
                "name": "name", "top1": "top1"}


def answers(ok: dict, *codes: int) -> dict:
    return {**ok, **{code: ERRORS[code] for code in (codes or (401, 404))}}


class PredictionPages(PageNumberPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


def _int_param(request, name: str) -> int | None:
    value = request.query_params.get(name)
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return -1  # matches nothing: a malformed filter finds no rows rather than all of them


@extend_schema_view(
    list=extend_schema(summary="List runs", parameters=[
        OpenApiParameter("status", str, enum=RunStatus.values), OpenApiParameter("dataset", int),
        OpenApiParameter("version", int), OpenApiParameter("arch", str),
        OpenApiParameter("ordering", str, enum=[*RUN_ORDERING, *[f"-{k}" for k in RUN_ORDERING]])]),
    retrieve=extend_schema(summary="A run in full", responses=answers({200: s.RunDetailSerializer})),
    create=extend_schema(summary="Launch a run (validated like the form: per-field errors on 400)",
                         request=s.LaunchRequestSerializer,
                         responses=answers({201: s.RunDetailSerializer}, 400, 401)),
)
class RunViewSet(VisibleToUserMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                 viewsets.GenericViewSet):
    queryset = TrainingRun.objects.select_related("version__dataset", "owner", "network")
    serializer_class = s.RunSerializer

    def get_queryset(self):
        test_top1 = (Evaluation.objects.filter(run=OuterRef("pk"), split="test", created_by__isnull=True)
                     .order_by("-created_at").values("top1")[:1])
        queryset = super().get_queryset().annotate(top1=Subquery(test_top1))
        if self.action != "list":
            return queryset
        params = self.request.query_params
        if params.get("status"):
            queryset = queryset.filter(status=params["status"])
        if params.get("arch"):
            queryset = queryset.filter(arch=params["arch"])
        for name, lookup in (("dataset", "version__dataset_id"), ("version", "version_id")):
            if params.get(name):
                queryset = queryset.filter(**{lookup: _int_param(self.request, name)})
        ordering = params.get("ordering", "-created")
        field = RUN_ORDERING.get(ordering.lstrip("-"), "created_at")
        return queryset.order_by(f"-{field}" if ordering.startswith("-") else field, "-id")

    def get_serializer_class(self):
        return s.RunDetailSerializer if self.action == "retrieve" else s.RunSerializer

    def create(self, request, *args, **kwargs):
        form = LaunchForm(data=request.data, user=request.user)
        if not form.is_valid():
            errors = {("non_field_errors" if k == "__all__" else k): v for k, v in form.errors.items()}
            return Response(errors, status=status.HTTP_400_BAD_REQUEST)
        run = form.launch()
        return Response(s.RunDetailSerializer(self.get_queryset().get(pk=run.pk)).data, status=status.HTTP_201_CREATED)

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
        return self._act(cancel_run)

    @extend_schema(summary="Resume a cancelled, failed or interrupted run from its last checkpoint", request=None,
                   responses=answers({200: OpenApiTypes.OBJECT}, 401, 404, 409))
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        return self._act(resume_run)

    @extend_schema(summary="Per-epoch metrics (the curves)",
                   responses=answers({200: s.EpochMetricSerializer(many=True)}))
    @action(detail=True, methods=["get"], pagination_class=None)
    def epochs(self, request, pk=None):
        run = self.get_object()
        return Response(s.EpochMetricSerializer(run.epochs.order_by("epoch"), many=True).data)

    @extend_schema(summary="Live status: progress, epochs so far, warnings, error, timings",
                   parameters=[OpenApiParameter("since_epoch", int, description="Only epochs after this one.")],
                   responses=answers({200: OpenApiTypes.OBJECT}))
    @action(detail=True, methods=["get"], url_path="status")
    def live_status(self, request, pk=None):
        return Response(run_status(self.get_object(), since_epoch=max(_int_param(request, "since_epoch") or 0, 0)))

    @extend_schema(summary="Evaluate the finished model on a dataset version's split (queued; poll the evaluation)",
                   request=s.EvaluateRequestSerializer, responses=answers({202: s.EvaluationSerializer}, 400, 401, 404))
    @action(detail=True, methods=["post"])
    def evaluate(self, request, pk=None):
        run = self.get_object()
        body = s.EvaluateRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        visible = Dataset.objects.visible_to(request.user)
        version = DatasetVersion.objects.filter(pk=body.validated_data["version"], dataset__in=visible).first()
        if version is None:
            return Response({"version": ["No such dataset version."]}, status=status.HTTP_400_BAD_REQUEST)
        try:
            evaluation = evaluate_on_version(run, version, body.validated_data["split"], user=request.user)
        except EvaluationRequestError as exc:
            return Response({exc.field or "non_field_errors": [str(exc)]}, status=status.HTTP_400_BAD_REQUEST)
        return Response(s.EvaluationSerializer(evaluation).data, status=status.HTTP_202_ACCEPTED)


@extend_schema_view(
    list=extend_schema(summary="List evaluations", parameters=[
        OpenApiParameter("run", int), OpenApiParameter("split", str), OpenApiParameter("version", int)]),
    retrieve=extend_schema(summary="An evaluation with its confusion matrix and per-class metrics",
                           responses=answers({200: s.EvaluationDetailSerializer})),
)
class EvaluationViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Evaluation.objects.all()
    serializer_class = s.EvaluationSerializer

    def get_queryset(self):
        runs = TrainingRun.objects.visible_to(self.request.user).values("pk")
        queryset = Evaluation.objects.filter(run__in=runs).order_by("-created_at", "-id")
        if self.action == "list":
            for name in ("run", "version"):
                if self.request.query_params.get(name):
                    queryset = queryset.filter(**{f"{name}_id": _int_param(self.request, name)})
            if self.request.query_params.get("split"):
                queryset = queryset.filter(split=self.request.query_params["split"])
        return queryset

    def get_serializer_class(self):
        return s.EvaluationDetailSerializer if self.action == "retrieve" else s.EvaluationSerializer

    @extend_schema(summary="Per-image predictions, filterable by true and predicted class (a confusion-matrix cell)",
                   parameters=[OpenApiParameter("true", int, description="True class index."),
                               OpenApiParameter("predicted", int, description="Predicted class index."),
                               OpenApiParameter("correct", bool),
                               OpenApiParameter("ordering", str, enum=["confidence", "-confidence"]),
                               OpenApiParameter("page_size", int)],
                   responses=answers({200: s.EvalPredictionSerializer(many=True)}))
    @action(detail=True, methods=["get"], pagination_class=PredictionPages)
    def predictions(self, request, pk=None):
        evaluation = self.get_object()
        rows = EvalPrediction.objects.filter(evaluation=evaluation)
        for name, field in (("true", "true_index"), ("predicted", "predicted_index")):
            if request.query_params.get(name) not in (None, ""):
                rows = rows.filter(**{field: _int_param(request, name)})
        correct = request.query_params.get("correct")
        if correct == "true":
            rows = rows.filter(true_index=F("predicted_index"))
        elif correct == "false":
            rows = rows.exclude(true_index=F("predicted_index"))
        ordering = "confidence" if request.query_params.get("ordering") == "confidence" else "-confidence"
        page = self.paginate_queryset(rows.order_by(ordering, "id"))
        context = {"class_names": evaluation.class_names}
        return self.get_paginated_response(s.EvalPredictionSerializer(page, many=True, context=context).data)


@extend_schema_view(
    list=extend_schema(summary="Your networks (and your teams')"),
    create=extend_schema(summary="Save a network (its shapes are checked at its image size)",
                         responses=answers({201: s.CustomNetworkSerializer}, 400, 401)),
)
class NetworkViewSet(VisibleToUserMixin, viewsets.ModelViewSet):
    queryset = CustomNetwork.objects.select_related("owner")
    serializer_class = s.CustomNetworkSerializer

    @extend_schema(summary="Each layer's output shape and parameters, or the first layer that cannot work",
                   request=s.ShapesRequestSerializer, responses=answers({200: s.ShapesSerializer}, 400, 401))
    @action(detail=False, methods=["post"])
    def shapes(self, request):
        body = s.ShapesRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return Response(network_shapes(body.validated_data["spec"], image_size=body.validated_data["image_size"],
                                       num_classes=body.validated_data["num_classes"]))


router.register("runs", RunViewSet, basename="run")
router.register("evaluations", EvaluationViewSet, basename="evaluation")
router.register("networks", NetworkViewSet, basename="network")
