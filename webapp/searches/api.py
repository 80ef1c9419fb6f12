"""The searches REST API: start "choose for me within N minutes", follow it, cancel it."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from webapp.api.docs import answers
from webapp.api.ownership import VisibleToUserMixin
from webapp.api.router import router
from webapp.core.errors import FieldError
from webapp.searches import serializers as s
from webapp.searches.forms import SearchForm
from webapp.searches.models import Search
from webapp.searches.services.control import SearchStateError, cancel_search
from webapp.searches.services.launching import start_search


@extend_schema_view(
    list=extend_schema(summary="List searches", responses=answers({200: s.SearchSerializer(many=True)}, 400, 401, 404)),
    retrieve=extend_schema(summary="A search with its members and winner",
                           responses=answers({200: s.SearchSerializer})),
    create=extend_schema(summary="Choose for me: search architectures and learning rates within N minutes",
                         request=s.StartSearchSerializer, responses=answers({201: s.SearchSerializer}, 400, 401)),
)
class SearchViewSet(VisibleToUserMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                    viewsets.GenericViewSet):
    """Searches for the best model within a time budget; every member is a normal run."""

    queryset = Search.objects.select_related("dataset", "version", "winner").prefetch_related("members__run")
    serializer_class = s.SearchSerializer

    def create(self, request, *args, **kwargs):
        """Start a search on a dataset you may see, within `minutes` (1 to 240, default 5)."""
        s.StartSearchSerializer(data=request.data).is_valid(raise_exception=True)
        form = SearchForm(data={"minutes": 5, **request.data}, user=request.user)
        if not form.is_valid():
            return Response(dict(form.errors), status=status.HTTP_400_BAD_REQUEST)
        try:
            search = start_search(request.user, form.cleaned_data["dataset"], form.cleaned_data["minutes"])
        except FieldError as error:
            return Response(error.body(), status=error.status)
        return Response(s.SearchSerializer(self.get_queryset().get(pk=search.pk)).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Cancel a running search (its live members are cancelled)", request=None,
                   responses=answers({200: s.SearchSerializer}, 401, 404, 409))
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel the search and its queued or running members; a finished search answers 409."""
        search = self.get_object()
        try:
            cancel_search(search)
        except SearchStateError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(s.SearchSerializer(self.get_queryset().get(pk=search.pk)).data)


router.register("searches", SearchViewSet, basename="search")
