"""The classification REST API: models, quick prediction, imported models, jobs, exports and explanations."""

from __future__ import annotations

from django.http import Http404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, PolymorphicProxySerializer, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from webapp.api.docs import ERRORS, ErrorSerializer, FieldErrorsSerializer, answers
from webapp.api.ownership import VisibleToUserMixin
from webapp.api.renderers import FILE_RENDERERS
from webapp.api.router import router
from webapp.api.validation import query_params
from webapp.classify import serializers as s
from webapp.classify.api_jobs import JobViewSet
from webapp.classify.models import Explanation, ImportedModel
from webapp.classify.services import refs
from webapp.classify.services.access import visible_artifacts
from webapp.classify.services.explain import create_explanation, finished, png_names, waiting_note
from webapp.classify.services.exports import FORMATS, ExportRequestError, artifact_download, request_export
from webapp.classify.services.imported import delete_imported, import_model, parse_class_names
from webapp.classify.services.quick import QuickTestError, is_pending, quick_answer, quick_test
from webapp.core.files import PNG, stream_file
from webapp.runs.models import CustomNetwork
from webapp.runs.services.access import get_run

MULTIPART = [MultiPartParser, FormParser]
PREDICT_400 = OpenApiResponse(
    PolymorphicProxySerializer(component_name="PredictError", serializers=[FieldErrorsSerializer,
                                                                           s.PredictResponseSerializer],
                               resource_type_field_name=None),
    description=f"{ERRORS[400].description} Or the image could not be read: the answer, with `error` saying why.")
PENDING_202 = OpenApiResponse(s.PendingAnswerSerializer, description=(
    "The interactive worker did not answer within LUX_QUICK_WAIT_SECONDS (default 5 s): GET `status_url` "
    "until it answers 200 with the answer (or an error). Only you may read it."))
NO_WORKER_503 = OpenApiResponse(ErrorSerializer, description=(
    "No worker serves the interactive queue (quick tests and explanations); `detail` says how to start one."))


class ModelViewSet(viewsets.ViewSet):
    """Every model the user may classify with, as references for the other endpoints."""

    @extend_schema(summary="Models to classify with: finished runs, imported models, local ImageNet weights",
                   responses=answers({200: s.ModelOptionSerializer(many=True)}, 401))
    def list(self, request):
        """Return every model you may classify with, grouped, with the reference other endpoints take."""
        rows = [{"ref": value, "label": label, "group": group}
                for group, options in refs.choices(request.user) for value, label in options]
        return Response(rows)


class PredictViewSet(viewsets.ViewSet):
    """Quick prediction: one image in, top-k out, computed on the interactive worker (never behind training)."""

    parser_classes = MULTIPART
    lookup_field = "ticket"
    lookup_value_regex = r"[0-9]{1,18}-[0-9a-f]{32}"  # the requester's user id, then the task's own

    @extend_schema(summary="Classify one image (multipart): top-k classes with probabilities",
                   request={"multipart/form-data": s.PredictRequestSerializer},
                   responses={**answers({200: s.PredictResponseSerializer, 202: PENDING_202, 400: PREDICT_400},
                                        401, 404, 500), 503: NO_WORKER_503})
    def create(self, request):
        """Classify one uploaded image with a model; 202 with a status URL when the worker needs longer."""
        body = s.PredictRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        image = body.validated_data["image"]
        try:
            answer = quick_test(request.user, body.validated_data["model"], [image], k=body.validated_data["top_k"])
        except QuickTestError as error:
            return Response({"detail": error.message}, status=error.status)
        return _prediction(request, answer)

    @extend_schema(summary="The answer of a prediction that answered 202: 200 when ready, 202 while pending",
                   responses={**answers({200: s.PredictResponseSerializer, 202: PENDING_202, 400: PREDICT_400},
                                        401, 404, 500), 503: NO_WORKER_503})
    def retrieve(self, request, ticket=None):
        """Return the answer of a prediction once the worker has it (once: it is then forgotten); 404 if not yours."""
        try:
            answer = quick_answer(request.user, ticket)
        except QuickTestError as error:
            return Response({"detail": error.message}, status=error.status)
        return _prediction(request, answer)


def _prediction(request, answer: dict) -> Response:
    """Return the API's answer to a quick test of one image: the prediction, or where to ask for it."""
    if is_pending(answer):
        url = reverse("classify-predict-detail", args=[answer["ticket"]])
        return Response({**answer, "status_url": url}, status=status.HTTP_202_ACCEPTED, headers={"Location": url})
    entry = answer["images"][0]
    return Response({"model": answer["model"], "filename": entry["name"], "top_k": entry["top"],
                     "error": entry["error"], "cache": answer["cache"], "seconds": answer["seconds"]},
                    status=status.HTTP_200_OK if not entry["error"] else status.HTTP_400_BAD_REQUEST)


@extend_schema_view(
    list=extend_schema(summary="List imported models", responses=answers({200: s.ImportedModelSerializer(many=True)})),
    retrieve=extend_schema(summary="An imported model", responses=answers({200: s.ImportedModelSerializer})),
    destroy=extend_schema(summary="Delete an imported model and its file", responses=answers({204: None})),
)
class ImportedModelViewSet(VisibleToUserMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                           mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """Models trained elsewhere: weights files you import to classify with, beside your finished runs."""

    queryset = ImportedModel.objects.select_related("owner")
    serializer_class = s.ImportedModelSerializer
    parser_classes = MULTIPART

    @extend_schema(summary="Import a .safetensors or .pth state dict for an architecture or custom network",
                   request={"multipart/form-data": s.ImportModelRequestSerializer},
                   responses=answers({201: s.ImportedModelSerializer}, 400, 401))
    def create(self, request):
        """Check an uploaded weights file against its architecture and keep it as a model you can classify with."""
        body = s.ImportModelRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        network = None
        if data.get("network"):
            network = CustomNetwork.objects.visible_to(request.user).filter(pk=data["network"]).first()
            if network is None:
                return Response({"network": ["No such custom network."]}, status=status.HTTP_400_BAD_REQUEST)
        names = parse_class_names(data["class_names"]) if data.get("class_names", "").strip() else None
        model = import_model(request.user, name=data["name"], upload=data["file"], arch=data.get("arch") or "",
                             network=network, class_names=names, image_size=data.get("image_size"))
        return Response(s.ImportedModelSerializer(model).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        delete_imported(instance)


@extend_schema_view(
    list=extend_schema(summary="List TorchScript and ONNX exports of the runs you may see",
                       parameters=[s.ExportFilterSerializer],
                       responses=answers({200: s.ExportSerializer(many=True)}, 400, 401, 404)),
    retrieve=extend_schema(summary="An export with its parity check", responses=answers({200: s.ExportSerializer})),
)
class ExportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """A run's model exported to TorchScript or ONNX, each checked against PyTorch on a few images."""

    serializer_class = s.ExportSerializer
    parser_classes = [JSONParser, *MULTIPART]

    def get_queryset(self):
        kinds = [kind for _, kind in FORMATS.values()]
        rows = visible_artifacts(self.request.user).filter(kind__in=kinds).order_by("-created_at")
        if self.action != "list":
            return rows
        run = query_params(self.request, s.ExportFilterSerializer).get("run")
        return rows if run is None else rows.filter(run_id=run)

    @extend_schema(summary="Export a run's model (TorchScript or ONNX) with a parity check, on the worker",
                   request=s.ExportRequestSerializer, responses=answers({202: s.ExportSerializer}, 400, 401, 404, 409))
    def create(self, request):
        """Queue an export of a finished run's model; answer 202 with the export to poll."""
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
    @action(detail=True, methods=["get"], renderer_classes=FILE_RENDERERS)
    def download(self, request, pk=None):
        """Download the exported model file (404 until the export is done)."""
        return artifact_download(request.user, self.get_object().pk)


@extend_schema_view(
    list=extend_schema(summary="List explanations", responses=answers({200: s.ExplanationSerializer(many=True)})),
    retrieve=extend_schema(summary="An explanation: classes, method and links to its PNGs",
                           responses=answers({200: s.ExplanationSerializer})),
    destroy=extend_schema(summary="Delete an explanation and its pictures", responses=answers({204: None})),
)
class ExplanationViewSet(VisibleToUserMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                         mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """Why a model answered what it did about one image: Grad-CAM or attention, feature maps, filters."""

    queryset = Explanation.objects.all()
    serializer_class = s.ExplanationSerializer
    parser_classes = MULTIPART

    @extend_schema(summary="Explain one image: Grad-CAM or attention rollout, feature maps, first-layer filters",
                   request={"multipart/form-data": s.ExplainRequestSerializer},
                   responses=answers({201: s.ExplanationSerializer, 202: OpenApiResponse(
                       s.ExplanationSerializer, description="Created, but the interactive worker needs longer than "
                       "LUX_QUICK_WAIT_SECONDS: GET `status_url` until `status` is succeeded or failed (`note` says "
                       "when no worker serves the queue).")}, 400, 401, 404))
    def create(self, request):
        """Explain one uploaded image with a model; 201 when done within the wait, else 202 with a status URL."""
        body = s.ExplainRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        explanation = create_explanation(request.user, data["model"], data=data["image"],
                                         name=data["image"].name, class_index=data.get("class_index"),
                                         layer=data.get("layer", ""))
        answer = s.ExplanationSerializer(explanation).data
        if finished(explanation):
            return Response(answer, status=status.HTTP_201_CREATED)
        return Response({**answer, "note": waiting_note(explanation)}, status=status.HTTP_202_ACCEPTED,
                        headers={"Location": answer["status_url"]})

    def perform_destroy(self, instance):
        from webapp.classify.services.explain import delete_explanation

        delete_explanation(instance)

    @extend_schema(summary="One PNG of an explanation (input, overlay, heatmap, filters, stage-conv1, ...)",
                   responses=answers({(200, "image/png"): OpenApiTypes.BINARY}))
    @action(detail=True, methods=["get"], url_path=r"png/(?P<kind>[a-z0-9-]+)", url_name="png",
            renderer_classes=FILE_RENDERERS)
    def png(self, request, pk=None, kind=""):
        """Download one picture of the explanation; `kind` is one of the names in its `pictures`."""
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

