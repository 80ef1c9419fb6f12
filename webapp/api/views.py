"""API endpoints that belong to no domain app."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.response import Response


@extend_schema(
    responses=inline_serializer(
        "Me", {"id": serializers.IntegerField(), "username": serializers.CharField(),
               "is_admin": serializers.BooleanField(), "teams": serializers.ListField(child=serializers.CharField())}
    )
)
@api_view(["GET"])
def me(request):
    """Return who the request is authenticated as."""
    user = request.user
    return Response({"id": user.pk, "username": user.username, "is_admin": user.is_superuser,
                     "teams": list(user.groups.values_list("name", flat=True))})
