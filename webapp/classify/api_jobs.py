"""The batch jobs API: create from uploads, a ZIP or a dataset version; add files, start, cancel, results."""

from __future__ import annotations

from django.http import Http404, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from webapp.api.ownership import VisibleToUserMixin
from webapp.classify import serializers as s
from webapp.classify.models import ClassificationJob
from webapp.classify.services import jobs as service
from webapp.classify.services import results
from webapp.classify.services.jobs import JobError
from webapp.runs.views.access import visible_versions

ERRORS = {
    400: OpenApiResponse(s.ErrorSerializer, description="Invalid: the fields (or `detail`) say why."),
    401: OpenApiResponse(s.ErrorSerializer, description="Not signed in: send a session or `Authorization: Token`."),
    404: OpenApiResponse(s.ErrorSerializer, description="No such object, or it is not shared with you."),
    409: OpenApiResponse(s.ErrorSerializer, description="The job is not in a state that allows this."),
}
FILTERS = [
    OpenApiParameter("class", int, description="Only images predicted as this class index."),
    OpenApiParameter("min_confidence", float, description="Top-1 probability at least this (0-1)."),
    OpenApiParameter("max_confidence", float, description="Top-1 probability at most this (0-1)."),
    OpenApiParameter("low", bool, description="Only predictions below the job's low-confidence threshold."),
    OpenApiParameter("errors", bool, description="Only files that could not be classified."),
]


def answers(ok: dict, *codes: int) -> dict:
    return {**ok, **{code: ERRORS[code] for code in (codes or (401, 404))}}


def job_error(error: JobError) -> Response:
    if error.field:
        return Response({error.field: [error.message]}, status=error.status)
    return Response({"detail": error.message}, status=error.status)


class ResultPages(PageNumberPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


@extend_schema_view(
    list=extend_schema(summary="List classification jobs"),
    retrieve=extend_schema(summary="A job with its progress (done/total, images/s, ETA)",
                           responses=answers({200: s.JobSerializer})),
    destroy=extend_schema(summary="Delete a finished job and its files", responses=answers({204: None}, 401, 404, 409)),
)
class JobViewSet(VisibleToUserMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin,
                 viewsets.GenericViewSet):
    queryset = ClassificationJob.objects.select_related("owner")
    serializer_class = s.JobSerializer
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(summary="Create a job from up to 100 images, a ZIP, or a dataset version's split",
                   request={"multipart/form-data": s.JobCreateSerializer, "application/json": s.JobCreateSerializer},
                   responses=answers({201: s.JobSerializer}, 400, 401, 404))
    def create(self, request):
        body = s.JobCreateSerializer(data=_with_file_list(request))
        body.is_valid(raise_exception=True)
        data = body.validated_data
        options = {"name": data.get("name", ""), "top_k": data["top_k"], "low_confidence": data["low_confidence"]}
        try:
            job = self._create(request, data, options)
        except JobError as error:
            return job_error(error)
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
        try:
            service.delete_job(job)
        except JobError as error:
            raise Conflict(error.message)

    @extend_schema(summary="Add up to 100 images to a pending job (before start)",
                   request={"multipart/form-data": s.FilesSerializer},
                   responses=answers({200: OpenApiTypes.OBJECT}, 400, 401, 404, 409))
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser])
    def files(self, request, pk=None):
        job = self.get_object()
        files = request.FILES.getlist("files")
        if not files:
            return Response({"files": ["Send one or more files in the field `files`."]}, status=400)
        try:
            report = service.add_uploads(job, files)
        except JobError as error:
            return job_error(error)
        job.refresh_from_db()
        return Response({"files": report, "total": job.total})

    @extend_schema(summary="Start a pending upload job", request=None,
                   responses=answers({200: s.JobSerializer}, 400, 401, 404, 409))
    @action(detail=True, methods=["post"])
    def start(self, request, pk=None):
        try:
            job = service.start_job(self.get_object())
        except JobError as error:
            return job_error(error)
        return Response(s.JobSerializer(job).data)

    @extend_schema(summary="Cancel a job (a running one stops at its next batch)", request=None,
                   responses=answers({200: s.JobSerializer}, 401, 404, 409))
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        try:
            job = service.cancel_job(self.get_object())
        except JobError as error:
            return job_error(error)
        return Response(s.JobSerializer(job).data)

    @extend_schema(summary="The job's results, filtered and paginated", parameters=FILTERS,
                   responses=answers({200: s.ResultSerializer(many=True)}))
    @action(detail=True, methods=["get"], pagination_class=ResultPages)
    def results(self, request, pk=None):
        job = self.get_object()
        rows = results.filtered(job, results.ResultFilter.from_params(request.query_params))
        page = self.paginate_queryset(rows)
        return self.get_paginated_response([results.as_dict(job, p) for p in page])

    @extend_schema(summary="Download the results as CSV or JSON (filters apply)", parameters=FILTERS,
                   responses=answers({(200, "text/csv"): OpenApiTypes.STR,
                                      (200, "application/json"): OpenApiTypes.OBJECT}))
    @action(detail=True, methods=["get"], url_path=r"download/(?P<fmt>csv|json)", url_name="download")
    def download(self, request, pk=None, fmt="csv"):
        job = self.get_object()
        rows = results.filtered(job, results.ResultFilter.from_params(request.query_params))
        chunks = results.csv_rows(job, rows) if fmt == "csv" else results.json_chunks(job, rows)
        response = StreamingHttpResponse(chunks, content_type="text/csv; charset=utf-8" if fmt == "csv"
                                         else "application/json")
        response["Content-Disposition"] = f'attachment; filename="classification-job-{job.pk}.{fmt}"'
        return response


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The job is not in a state that allows this."


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
