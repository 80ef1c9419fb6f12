"""API endpoints that belong to no domain app."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from webapp.api.docs import answers


@extend_schema(
    responses=answers({200: inline_serializer(
        "Me", {"id": serializers.IntegerField(), "username": serializers.CharField(),
               "is_admin": serializers.BooleanField(), "teams": serializers.ListField(child=serializers.CharField())}
    )}, 401)
)
@api_view(["GET"])
def me(request):
    """Return who the request is authenticated as."""
    user = request.user
    return Response({"id": user.pk, "username": user.username, "is_admin": user.is_superuser,
                     "teams": list(user.groups.values_list("name", flat=True))})


@extend_schema(exclude=True)
@api_view(["GET", "POST", "PUT", "PATCH", "DELETE"])
def not_found(request, path=""):
    """Answer a JSON 404 (after the usual 401) for an /api/ URL no endpoint matches, e.g. /api/runs/abc/."""
    raise NotFound("No such API endpoint or object.")
