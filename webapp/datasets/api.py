"""The datasets REST API: viewsets on the shared router; every change goes through a service function."""

from contextlib import contextmanager

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Count, Q
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from webapp.api.docs import documented
from webapp.api.ownership import VisibleToUserMixin
from webapp.api.renderers import FILE_RENDERERS
from webapp.api.router import router
from webapp.api.validation import Pages, query_params
from webapp.core.files import stream_image
from webapp.datasets import serializers as s
from webapp.datasets.models import Dataset, DatasetClass, DatasetVersion, Image, Import
from webapp.datasets.services import bulk, classes, datasets, ingest, splits, versions
from webapp.datasets.services.access import dataset_for
from webapp.datasets.services.browse import apply_filters

answers = documented(400, 401, 403, 404)
DATASET_PARAM = s.DatasetFilterSerializer


@contextmanager
def service_errors():
    """Turn a service's ValidationError into a JSON 400 with its message as `detail`."""
    try:
        yield
    except DjangoValidationError as e:
        raise serializers.ValidationError({"detail": " ".join(e.messages)})


def class_or_400(dataset: Dataset, pk) -> DatasetClass | None:
    if pk is None:
        return None
    found = dataset.classes.filter(pk=pk).first()
    if found is None:
        raise serializers.ValidationError({"label": f"Dataset {dataset.pk} has no class {pk}."})
    return found


# Limits a viewset to rows of datasets the user may see, optionally one (?dataset=). A comment, not a
# docstring, so that it never stands in for an endpoint's description in the OpenAPI schema.
class InVisibleDatasetMixin:
    def visible_rows(self, queryset):
        queryset = queryset.filter(dataset__in=Dataset.objects.visible_to(self.request.user).values("pk"))
        wanted = query_params(self.request, s.DatasetFilterSerializer).get("dataset") if self.action == "list" else None
        if wanted is not None:
            queryset = queryset.filter(dataset=dataset_for(self.request.user, wanted))
        return queryset


class ImagePagination(Pages):
    page_size = 50
    max_page_size = 500


# ---------------------------------------------------------------- datasets


@extend_schema_view(
    list=extend_schema(responses=answers({200: s.DatasetSerializer(many=True)}, 401, 403, 404)),
    retrieve=extend_schema(responses=answers({200: s.DatasetDetailSerializer}, 401, 403, 404)),
    create=extend_schema(responses=answers({201: s.DatasetSerializer}, 400, 401, 403)),
    update=extend_schema(responses=answers({200: s.DatasetSerializer})),
    partial_update=extend_schema(responses=answers({200: s.DatasetSerializer})),
    destroy=extend_schema(responses=answers({204: None})),
)
class DatasetViewSet(VisibleToUserMixin, viewsets.ModelViewSet):
    """Datasets you own or share with a team; the detail includes counts and the health numbers."""

    queryset = Dataset.objects.select_related("owner")

    def get_queryset(self):
        return datasets.with_counts(super().get_queryset())

    def get_serializer_class(self):
        return s.DatasetDetailSerializer if self.action == "retrieve" else s.DatasetSerializer

    def perform_create(self, serializer):
        serializer.instance = serializer.save(owner=self.request.user)
        serializer.instance.image_count = serializer.instance.class_count = serializer.instance.version_count = 0

    def perform_destroy(self, instance):
        with service_errors():
            datasets.delete_dataset(instance)

    @extend_schema(request=s.AutoSplitSerializer, responses=answers({200: s.SplitCountsSerializer}))
    @action(detail=True, methods=["post"], url_path="auto-split")
    def auto_split(self, request, pk=None):
        """Split each class's images into train/val/test by the ratios; the same seed gives the same split."""
        dataset = self.get_object()
        form = s.AutoSplitSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        with service_errors():
            counts = splits.auto_split(dataset, **form.validated_data)
        return Response(counts)


# ---------------------------------------------------------------- classes


@extend_schema_view(
    list=extend_schema(parameters=[DATASET_PARAM], responses=answers({200: s.ClassSerializer(many=True)})),
    retrieve=extend_schema(responses=answers({200: s.ClassSerializer}, 401, 403, 404)),
    create=extend_schema(request=s.ClassCreateSerializer, responses=answers({201: s.ClassSerializer})),
    partial_update=extend_schema(request=s.ClassRenameSerializer, responses=answers({200: s.ClassSerializer})),
    destroy=extend_schema(
        parameters=[s.ClassDeleteQuerySerializer],
        responses=answers({204: None})),
)
class ClassViewSet(InVisibleDatasetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """A dataset's classes, in order: create, rename, merge into another, delete."""

    serializer_class = s.ClassSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        live = Q(images__deleted_at__isnull=True)
        return self.visible_rows(DatasetClass.objects.annotate(image_count=Count("images", filter=live))
                                 .order_by("dataset_id", "position", "pk"))

    def _answer(self, cls, code=status.HTTP_200_OK) -> Response:
        return Response(s.ClassSerializer(self.get_queryset().get(pk=cls.pk)).data, status=code)

    def create(self, request):
        form = s.ClassCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        dataset = dataset_for(request.user, form.validated_data["dataset"])
        with service_errors():
            cls = classes.create_class(dataset, form.validated_data["name"])
        return self._answer(cls, status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        cls = self.get_object()
        form = s.ClassRenameSerializer(data=request.data, partial=True)  # a PATCH changes what it names
        form.is_valid(raise_exception=True)
        if "name" in form.validated_data:
            with service_errors():
                classes.rename_class(cls, form.validated_data["name"])
        return self._answer(cls)

    def destroy(self, request, pk=None):
        cls = self.get_object()
        delete_images = query_params(request, s.ClassDeleteQuerySerializer)["delete_images"]
        classes.delete_class(cls, delete_images=delete_images, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=s.ClassMergeSerializer, responses=answers({200: s.ClassSerializer}))
    @action(detail=True, methods=["post"])
    def merge(self, request, pk=None):
        """Move this class's images into `into` and delete this class; answer with the merged class."""
        source = self.get_object()
        form = s.ClassMergeSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        target = DatasetClass.objects.filter(dataset=source.dataset, pk=form.validated_data["into"]).first()
        if target is None:
            raise serializers.ValidationError({"into": "Choose a class of the same dataset."})
        with service_errors():
            classes.merge_classes(source, target, user=request.user)
        return self._answer(target)


# ---------------------------------------------------------------- images

@extend_schema_view(
    list=extend_schema(parameters=[s.ImageFilterSerializer], responses=answers({200: s.ImageSerializer(many=True)})),
    retrieve=extend_schema(responses=answers({200: s.ImageSerializer}, 401, 403, 404)),
    partial_update=extend_schema(request=s.ImagePatchSerializer, responses=answers({200: s.ImageSerializer})),
    destroy=extend_schema(responses=answers({204: None}, 401, 403, 404)),
)
class ImageViewSet(InVisibleDatasetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Images: list with the page's filters, upload up to 100 files at once, change class or split, delete."""

    serializer_class = s.ImageSerializer
    pagination_class = ImagePagination
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        images = Image.objects.select_related("label")
        if self.action not in ("content", "thumbnail"):  # files of deleted images stay readable for versions
            images = images.filter(deleted_at__isnull=True)
        images = self.visible_rows(images).order_by("-created_at", "-id")
        if self.action != "list":
            return images
        query_params(self.request, s.ImageFilterSerializer)  # first: a malformed filter never reaches a query
        params = self.request.query_params
        try:
            images = apply_filters(images, label=params.get("class") or params.get("label"),
                                   split=params.get("split"), status=params.get("status"),
                                   search=params.get("search") or params.get("q"))
        except ValueError as e:
            raise serializers.ValidationError({"detail": str(e).capitalize() + "."})
        return images

    @extend_schema(request={"multipart/form-data": s.ImageUploadSerializer},
                   responses=answers({201: s.UploadResultSerializer}))
    def create(self, request):
        """Upload files into a class (or unlabelled) and split; each file is accepted or rejected with a reason."""
        files = request.FILES.getlist("files") or request.FILES.getlist("file")
        if not files:
            raise serializers.ValidationError({"files": "Attach at least one file (field name: files)."})
        fields = {k: v for k, v in request.data.items() if k not in ("files", "file") and v not in ("", None)}
        form = s.ImageUploadSerializer(data=fields | {"files": files})
        form.is_valid(raise_exception=True)
        dataset = dataset_for(request.user, form.validated_data["dataset"])
        label = class_or_400(dataset, form.validated_data.get("label"))
        with service_errors():
            batch = ingest.upload_files(dataset, files, label=label, split=form.validated_data.get("split") or None,
                                        user=request.user)
        results = [{"name": o.name, "outcome": o.outcome, "reason": o.reason, "message": o.message,
                    "image": o.image.pk if o.image else None, "existing": o.existing.pk if o.existing else None}
                   for o in batch.outcomes]
        body = {"import_id": batch.pk, "accepted": batch.accepted, "rejected": batch.rejected,
                "duplicates": batch.duplicates, "conflicts": batch.conflicts, "files": results}
        return Response(body, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        image = self.get_object()
        form = s.ImagePatchSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        with service_errors():
            if "label" in form.validated_data:
                bulk.relabel(image.dataset, [image.pk], class_or_400(image.dataset, form.validated_data["label"]),
                             user=request.user)
            if "split" in form.validated_data:
                bulk.move_to_split(image.dataset, [image.pk], form.validated_data["split"])
        return Response(s.ImageSerializer(self.get_queryset().get(pk=image.pk)).data)

    def destroy(self, request, pk=None):
        image = self.get_object()
        bulk.delete_images(image.dataset, [image.pk])
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=s.BulkSerializer, responses=answers({200: s.ChangedSerializer}))
    @action(detail=False, methods=["post"])
    def bulk(self, request):
        """Relabel, move to a split, or delete many images of one dataset at once."""
        form = s.BulkSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        dataset = dataset_for(request.user, data["dataset"])
        with service_errors():
            if data["action"] == "relabel":
                changed = bulk.relabel(dataset, data["ids"], class_or_400(dataset, data.get("label")),
                                       user=request.user)
            elif data["action"] == "move":
                if "split" not in data:
                    raise serializers.ValidationError({"split": "Choose the split to move the images to."})
                changed = bulk.move_to_split(dataset, data["ids"], data["split"])
            else:
                changed = bulk.delete_images(dataset, data["ids"])
        return Response({"changed": changed})

    @extend_schema(responses=answers({(200, "image/*"): OpenApiTypes.BINARY}, 401, 403, 404))
    @action(detail=True, methods=["get"], renderer_classes=FILE_RENDERERS)
    def content(self, request, pk=None):
        """Download the image file as it was uploaded."""
        return stream_image(self.get_object().file.name)

    @extend_schema(responses=answers({(200, "image/*"): OpenApiTypes.BINARY}, 401, 403, 404))
    @action(detail=True, methods=["get"], renderer_classes=FILE_RENDERERS)
    def thumbnail(self, request, pk=None):
        """Download the image's small thumbnail (WebP, or the image itself when it is already small)."""
        image = self.get_object()
        return stream_image((image.thumbnail or image.file).name)


# ---------------------------------------------------------------- imports


@extend_schema_view(
    list=extend_schema(parameters=[DATASET_PARAM], responses=answers({200: s.ImportSerializer(many=True)})),
    retrieve=extend_schema(responses=answers({200: s.ImportSerializer}, 401, 403, 404)),
)
class ImportViewSet(InVisibleDatasetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """ZIP imports (and upload batches): start one, poll its progress, read its per-file report."""

    serializer_class = s.ImportSerializer
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    def get_queryset(self):
        return self.visible_rows(Import.objects.order_by("-created_at", "-pk"))

    @extend_schema(request={"multipart/form-data": s.ImportCreateSerializer},
                   responses=answers({202: s.ImportSerializer}))
    def create(self, request):
        """Upload a ZIP to import; answer 202 with the import to poll (status, done/total, counts)."""
        form = s.ImportCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        dataset = dataset_for(request.user, form.validated_data["dataset"])
        with service_errors():
            job = ingest.start_archive_import(dataset, form.validated_data["file"], user=request.user)
        return Response(s.ImportSerializer(job).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(parameters=[s.ImportItemFilterSerializer],
                   responses=answers({200: s.ImportItemSerializer(many=True)}))
    @action(detail=True, methods=["get"])
    def items(self, request, pk=None):
        """Page through what happened to each file of the import (?outcome=rejected for the rejections)."""
        job = self.get_object()
        rows = job.items.order_by("pk")
        outcome = query_params(request, s.ImportItemFilterSerializer).get("outcome")
        if outcome:
            rows = rows.filter(outcome=outcome)
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(s.ImportItemSerializer(page, many=True).data)


# ---------------------------------------------------------------- versions


@extend_schema_view(
    list=extend_schema(parameters=[DATASET_PARAM], responses=answers({200: s.VersionSerializer(many=True)})),
    retrieve=extend_schema(responses=answers({200: s.VersionSerializer}, 401, 403, 404)),
)
class VersionViewSet(InVisibleDatasetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Frozen, immutable versions: freeze one, list them, read their counts, export one as a ZIP."""

    serializer_class = s.VersionSerializer

    def get_queryset(self):
        return self.visible_rows(DatasetVersion.objects.select_related("created_by", "dataset")
                                 .order_by("dataset_id", "-number"))

    @extend_schema(request=s.VersionCreateSerializer,
                   responses=answers({201: s.VersionSerializer,
                                      200: OpenApiResponse(s.VersionSerializer, description="Nothing changed "
                                                           "since the latest version: that version.")}))
    def create(self, request):
        """Freeze the dataset's labelled images with a split into a new version (or return the unchanged latest)."""
        form = s.VersionCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        dataset = dataset_for(request.user, form.validated_data["dataset"])
        before = dataset.versions.order_by("-number").values_list("pk", flat=True).first()
        with service_errors():
            version = versions.freeze_version(dataset, user=request.user, note=form.validated_data["note"])
        code = status.HTTP_200_OK if version.pk == before else status.HTTP_201_CREATED
        return Response(s.VersionSerializer(version).data, status=code)

    @extend_schema(responses=answers({(200, "application/zip"): OpenApiTypes.BINARY}, 401, 403, 404))
    @action(detail=True, methods=["get"], renderer_classes=FILE_RENDERERS)
    def export(self, request, pk=None):
        """Download the version as an ImageFolder ZIP (split/class/image), streamed."""
        version = self.get_object()
        response = StreamingHttpResponse(versions.export_version_zip(version), content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="{versions.export_filename(version)}"'
        return response


router.register("datasets", DatasetViewSet, basename="dataset")
router.register("classes", ClassViewSet, basename="dataset-class")
router.register("images", ImageViewSet, basename="dataset-image")
router.register("imports", ImportViewSet, basename="dataset-import")
router.register("versions", VersionViewSet, basename="dataset-version")
