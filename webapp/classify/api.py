"""The classification REST API: models, quick prediction, imported models, jobs, exports and explanations."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from webapp.api.ownership import VisibleToUserMixin
from webapp.api.router import router
from webapp.classify import serializers as s
from webapp.classify.api_jobs import JobViewSet, answers
from webapp.classify.models import Explanation, ImportedModel
from webapp.classify.services import refs
from webapp.classify.services.explain import ExplainError, create_explanation, png_names
from webapp.classify.services.exports import FORMATS, ExportRequestError, request_export
from webapp.classify.services.imported import ImportModelError, delete_imported, import_model, parse_class_names
from webapp.classify.services.quick import QuickTestError, quick_test
from webapp.classify.views.access import PNG, stream_file
from webapp.runs.models import CustomNetwork, ModelArtifact, TrainingRun
from webapp.runs.views.access import get_run

MULTIPART = [MultiPartParser, FormParser]


def field_error(field: str | None, message: str, code: int = 400) -> Response:
    return Response({field: [message]} if field else {"detail": message}, status=code)


class ModelViewSet(viewsets.ViewSet):
    """Every model the user may classify with, as references for the other endpoints."""

    @extend_schema(summary="Models to classify with: finished runs, imported models, local ImageNet weights",
                   responses=answers({200: s.ModelOptionSerializer(many=True)}, 401))
    def list(self, request):
        rows = [{"ref": value, "label": label, "group": group}
                for group, options in refs.choices(request.user) for value, label in options]
        return Response(rows)


class PredictViewSet(viewsets.ViewSet):
    """Quick prediction: one image in, top-k out, computed on the worker."""

    parser_classes = MULTIPART

    @extend_schema(summary="Classify one image (multipart): top-k classes with probabilities",
                   request={"multipart/form-data": s.PredictRequestSerializer},
                   responses=answers({200: s.PredictResponseSerializer}, 400, 401, 404))
    def create(self, request):
        body = s.PredictRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        image = body.validated_data["image"]
        try:
            answer = quick_test(request.user, body.validated_data["model"], [image], k=body.validated_data["top_k"])
        except QuickTestError as error:
            return Response({"detail": error.message}, status=error.status)
        entry = answer["images"][0]
        return Response({"model": answer["model"], "filename": entry["name"], "top_k": entry["top"],
                         "error": entry["error"], "cache": answer["cache"], "seconds": answer["seconds"]},
                        status=status.HTTP_200_OK if not entry["error"] else status.HTTP_400_BAD_REQUEST)


@extend_schema_view(
    list=extend_schema(summary="List imported models"),
    retrieve=extend_schema(summary="An imported model", responses=answers({200: s.ImportedModelSerializer})),
    destroy=extend_schema(summary="Delete an imported model and its file", responses=answers({204: None})),
)
class ImportedModelViewSet(VisibleToUserMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                           mixins.DestroyModelMixin, viewsets.GenericViewSet):
    queryset = ImportedModel.objects.select_related("owner")
    serializer_class = s.ImportedModelSerializer
    parser_classes = MULTIPART

    @extend_schema(summary="Import a .safetensors or .pth state dict for an architecture or custom network",
                   request={"multipart/form-data": s.ImportModelRequestSerializer},
                   responses=answers({201: s.ImportedModelSerializer}, 400, 401))
    def create(self, request):
        body = s.ImportModelRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        network = None
        if data.get("network"):
            network = CustomNetwork.objects.visible_to(request.user).filter(pk=data["network"]).first()
            if network is None:
                return field_error("network", "No such custom network.")
        try:
            names = parse_class_names(data["class_names"]) if data.get("class_names", "").strip() else None
            model = import_model(request.user, name=data["name"], upload=data["file"], arch=data.get("arch") or "",
                                 network=network, class_names=names, image_size=data.get("image_size"))
        except ImportModelError as error:
            return field_error(error.field, error.message)
        return Response(s.ImportedModelSerializer(model).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        delete_imported(instance)


def visible_exports(user):
    runs = TrainingRun.objects.visible_to(user).values("pk")
    kinds = [kind for _, kind in FORMATS.values()]
    return ModelArtifact.objects.filter(run__in=runs, kind__in=kinds).select_related("run")


@extend_schema_view(
    list=extend_schema(summary="List TorchScript and ONNX exports of the runs you may see"),
    retrieve=extend_schema(summary="An export with its parity check", responses=answers({200: s.ExportSerializer})),
)
class ExportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = s.ExportSerializer
    parser_classes = [JSONParser, *MULTIPART]

    def get_queryset(self):
        rows = visible_exports(self.request.user).order_by("-created_at")
        run = self.request.query_params.get("run")
        return rows.filter(run_id=run) if run and run.isdigit() else rows

    @extend_schema(summary="Export a run's model (TorchScript or ONNX) with a parity check, on the worker",
                   request=s.ExportRequestSerializer, responses=answers({202: s.ExportSerializer}, 400, 401, 404, 409))
    def create(self, request):
        body = s.ExportRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        run = get_run(request.user, body.validated_data["run"])
        try:
            artifact = request_export(run, body.validated_data["format"], user=request.user)
        except ExportRequestError as error:
            return Response({"detail": error.message}, status=error.status)
        return Response(s.ExportSerializer(artifact).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(summary="Download the exported file", responses=answers({(200, "application/octet-stream"):
                                                                          OpenApiTypes.BINARY}))
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        from webapp.classify.views.models import artifact_response

        return artifact_response(request.user, self.get_object().pk)


@extend_schema_view(
    list=extend_schema(summary="List explanations"),
    retrieve=extend_schema(summary="An explanation: classes, method and links to its PNGs",
                           responses=answers({200: s.ExplanationSerializer})),
)
class ExplanationViewSet(VisibleToUserMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                         mixins.DestroyModelMixin, viewsets.GenericViewSet):
    queryset = Explanation.objects.all()
    serializer_class = s.ExplanationSerializer
    parser_classes = MULTIPART

    @extend_schema(summary="Explain one image: Grad-CAM or attention rollout, feature maps, first-layer filters",
                   request={"multipart/form-data": s.ExplainRequestSerializer},
                   responses=answers({201: s.ExplanationSerializer}, 400, 401, 404))
    def create(self, request):
        body = s.ExplainRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            explanation = create_explanation(request.user, data["model"], data=data["image"].read(),
                                             name=data["image"].name, class_index=data.get("class_index"))
        except ExplainError as error:
            return field_error(error.field, error.message)
        return Response(s.ExplanationSerializer(explanation).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        from webapp.classify.services.explain import delete_explanation

        delete_explanation(instance)

    @extend_schema(summary="One PNG of an explanation (input, overlay, heatmap, filters, stage-conv1, ...)",
                   responses=answers({(200, "image/png"): OpenApiTypes.BINARY}))
    @action(detail=True, methods=["get"], url_path=r"png/(?P<kind>[a-z0-9-]+)", url_name="png")
    def png(self, request, pk=None, kind=""):
        explanation = self.get_object()
        name = png_names(explanation).get(kind)
        if name is None:
            raise Http404("No such picture.")
        return stream_file(name, PNG)


router.register("classify/models", ModelViewSet, basename="classify-model")
router.register("classify/predict", PredictViewSet, basename="classify-predict")
router.register("classify/imported-models", ImportedModelViewSet, basename="classify-imported-model")
router.register("classify/jobs", JobViewSet, basename="classify-job")
router.register("classify/exports", ExportViewSet, basename="classify-export")
router.register("classify/explanations", ExplanationViewSet, basename="classify-explanation")

