"""The batch jobs API: create from uploads, a ZIP or a dataset version; add files, start, cancel, results."""

from __future__ import annotations

from dataclasses import replace

from django.db import transaction
from django.http import Http404, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from webapp.api.docs import answers
from webapp.api.ownership import VisibleToUserMixin
from webapp.api.renderers import FILE_RENDERERS
from webapp.api.validation import Pages, query_params
from webapp.classify import serializers as s
from webapp.classify.models import ClassificationJob
from webapp.classify.services import jobs as service
from webapp.classify.services import results
from webapp.labelling.serializers import SendToDatasetSerializer, SentSerializer
from webapp.labelling.services import from_job
from webapp.runs.services.access import visible_versions

FILTERS = [s.ResultFilterSerializer]


class ResultPages(Pages):
    page_size = 100
    max_page_size = 1000


@extend_schema_view(
    list=extend_schema(summary="List classification jobs", responses=answers({200: s.JobSerializer(many=True)})),
    retrieve=extend_schema(summary="A job with its progress (done/total, images/s, ETA)",
                           responses=answers({200: s.JobSerializer})),
    destroy=extend_schema(summary="Delete a finished job and its files", responses=answers({204: None}, 401, 404, 409)),
)
class JobViewSet(VisibleToUserMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin,
                 viewsets.GenericViewSet):
    """Batch classification: many images through one model on the worker, with results to filter and download."""

    queryset = ClassificationJob.objects.select_related("owner")
    serializer_class = s.JobSerializer
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(summary="Create a job from up to 100 images, a ZIP, or a dataset version's split",
                   request={"multipart/form-data": s.JobCreateSerializer,
                            "application/json": s.JobFromVersionSerializer},
                   responses=answers({201: s.JobSerializer}, 400, 401, 404, 413))
    def create(self, request):
        """Create a job from uploaded images, a ZIP or a version's split; uploads start at once unless `start`."""
        # A JSON body cannot carry files, so it is a job over a version, checked as the schema documents it.
        shape = s.JobCreateSerializer if hasattr(request.data, "getlist") else s.JobFromVersionSerializer
        body = shape(data=_with_file_list(request))
        body.is_valid(raise_exception=True)
        data = body.validated_data
        options = {"name": data.get("name", ""), "top_k": data["top_k"], "low_confidence": data["low_confidence"]}
        with transaction.atomic():  # a refused upload leaves no empty job behind
            job = self._create(request, data, options)
        return Response(s.JobSerializer(job).data, status=status.HTTP_201_CREATED)

    def _create(self, request, data, options) -> ClassificationJob:
        if data["source"] == "archive":
            return service.create_archive_job(request.user, data["model"], data["archive"], **options)
        if data["source"] == "version":
            version = _version(request.user, data["version"])
            return service.create_version_job(request.user, data["model"], version, data["split"], **options)
        job = service.create_upload_job(request.user, data["model"], **options)
        service.add_uploads(job, data["files"])
        if data["start"]:
            service.start_job(job)
        return job

    def perform_destroy(self, job):
        service.delete_job(job)

    @extend_schema(summary="Add up to 100 images to a pending job (before start)",
                   request={"multipart/form-data": s.FilesSerializer},
                   responses=answers({200: OpenApiTypes.OBJECT}, 400, 401, 404, 409, 413))
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser])
    def files(self, request, pk=None):
        """Add images to a job that has not started; answer each file's outcome and the job's new total."""
        job = self.get_object()
        files = request.FILES.getlist("files")
        if not files:
            return Response({"files": ["Send one or more files in the field `files`."]}, status=400)
        report = service.add_uploads(job, files)
        job.refresh_from_db()
        return Response({"files": report, "total": job.total})

    @extend_schema(summary="Start a pending upload job", request=None,
                   responses=answers({200: s.JobSerializer}, 400, 401, 404, 409))
    @action(detail=True, methods=["post"])
    def start(self, request, pk=None):
        """Queue a pending upload job on the worker; 409 once it has started."""
        job = service.start_job(self.get_object())
        return Response(s.JobSerializer(job).data)

    @extend_schema(summary="Cancel a job (a running one stops at its next batch)", request=None,
                   responses=answers({200: s.JobSerializer}, 401, 404, 409))
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel a job that has not finished; 409 once it has."""
        job = service.cancel_job(self.get_object())
        return Response(s.JobSerializer(job).data)

    @extend_schema(summary="Send the job's images to a dataset for labelling, with its predictions as suggestions",
                   request=SendToDatasetSerializer, responses=answers({201: SentSerializer}, 400, 401, 404, 409))
    @action(detail=True, methods=["post"], url_path="to-dataset")
    def to_dataset(self, request, pk=None):
        """Copy the low-confidence (or all) images of a finished job into a dataset as unlabelled images, each
        with the job's prediction as a suggestion the labelling queue orders by; 409 until the job has finished."""
        job = self.get_object()
        if not from_job.is_finished(job):
            raise from_job.SendError("This job has not finished: send its images once it has.", status=409)
        body = SendToDatasetSerializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        data = body.validated_data
        below = data["below"] / 100 if "below" in data else None
        sent = from_job.send_to_dataset(job, data["dataset"], request.user, images=data["images"], below=below)
        return Response(SentSerializer(sent.as_dict()).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="The job's results, filtered and paginated", parameters=FILTERS,
                   responses=answers({200: s.ResultSerializer(many=True)}, 400, 401, 404))
    @action(detail=True, methods=["get"], pagination_class=ResultPages)
    def results(self, request, pk=None):
        """Page through the job's predictions in input order, filtered like the job page."""
        job = self.get_object()
        rows = results.filtered(job, _result_filter(request))
        page = self.paginate_queryset(rows)
        return self.get_paginated_response([results.as_dict(job, p) for p in page])

    @extend_schema(summary="Download the results as CSV or JSON (filters apply)",
                   parameters=[OpenApiParameter("fmt", str, OpenApiParameter.PATH, enum=["csv", "json"]), *FILTERS],
                   responses=answers({(200, "text/csv"): OpenApiTypes.STR,
                                      (200, "application/json"): OpenApiTypes.OBJECT}, 400, 401, 404))
    @action(detail=True, methods=["get"], url_path=r"download/(?P<fmt>csv|json)", url_name="download",
            renderer_classes=FILE_RENDERERS)
    def download(self, request, pk=None, fmt="csv"):
        """Download every result the filters keep, as one CSV or JSON file streamed as it is written."""
        job = self.get_object()
        rows = results.filtered(job, _result_filter(request))
        chunks = results.csv_rows(job, rows) if fmt == "csv" else results.json_chunks(job, rows)
        response = StreamingHttpResponse(chunks, content_type="text/csv; charset=utf-8" if fmt == "csv"
                                         else "application/json")
        response["Content-Disposition"] = f'attachment; filename="classification-job-{job.pk}.{fmt}"'
        return response


def _result_filter(request) -> results.ResultFilter:
    """Return the filter the query asks for, read as the job page reads it once the parameters are valid."""
    query = query_params(request, s.ResultFilterSerializer)
    return replace(results.ResultFilter.from_params(request.query_params), low=query["low"], errors=query["errors"])


def _version(user, pk):
    version = visible_versions(user).filter(pk=pk).first()
    if version is None:
        raise Http404("No such dataset version.")
    return version


def _with_file_list(request) -> dict:
    """Return the request data with `files` as a list (multipart repeats the field once per file)."""
    if not hasattr(request.data, "getlist"):
        return request.data
    data = {key: request.data.get(key) for key in request.data if key != "files"}
    files = request.FILES.getlist("files")
    if files:
        data["files"] = files
    return data
