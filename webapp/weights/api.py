"""The weights REST API: every file's state for everyone; downloads and uploads for administrators."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from webapp.api.docs import answers
from webapp.api.router import router
from webapp.weights import serializers as s
from webapp.weights.services.access import require_manager
from webapp.weights.services.catalogue import file_states, offline
from webapp.weights.services.downloads import start_downloads
from webapp.weights.services.uploads import upload


def _listing(user) -> list[dict]:
    downloadable = not offline()
    return [{**state.to_dict(), "downloadable": downloadable} for state in file_states(user)]


class WeightsViewSet(viewsets.ViewSet):
    """ImageNet weights files in this server's torch cache (shared by every user: there are no ids)."""

    @extend_schema(summary="Every ImageNet weights file: present, size, checksum, download progress",
                   responses=answers({200: s.WeightsFileSerializer(many=True)}, 401))
    def list(self, request):
        """Return every architecture's ImageNet weights file and its state."""
        return Response(_listing(request.user))

    @extend_schema(summary="Download weights files (administrators)", request=s.FetchSerializer,
                   responses=answers({202: s.WeightsFileSerializer(many=True)}, 400, 401, 403, 409))
    @action(detail=False, methods=["post"])
    def fetch(self, request):
        """Queue a download of each named architecture's file; 409 when the server is offline (LUX_OFFLINE)."""
        require_manager(request.user)
        body = s.FetchSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        start_downloads(request.user, body.validated_data["names"])
        return Response(_listing(request.user), status=status.HTTP_202_ACCEPTED)

    @extend_schema(summary="Upload a weights file for an architecture (administrators)", request=s.UploadSerializer,
                   responses=answers({201: s.WeightsFileSerializer(many=True)}, 400, 401, 403))
    @action(detail=False, methods=["post"], parser_classes=[MultiPartParser, FormParser])
    def upload(self, request):
        """Check the file (checksum, or tensors and shapes) and put it in the cache; a bad file stores nothing."""
        require_manager(request.user)
        body = s.UploadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        upload(request.user, body.validated_data["arch"], body.validated_data["file"])
        return Response(_listing(request.user), status=status.HTTP_201_CREATED)


router.register("weights", WeightsViewSet, basename="weights")
