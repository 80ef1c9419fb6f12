"""The error answers every API endpoint documents, with the bodies they really have, in one place."""

from __future__ import annotations

from collections.abc import Callable

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What went wrong, in words a person can act on.")


class FieldErrorsSerializer(serializers.Serializer):
    """Why the request is invalid: each field at fault with its messages, or `non_field_errors`, or `detail`."""

    detail = serializers.CharField(required=False, help_text="A message about the request as a whole.")
    non_field_errors = serializers.ListField(child=serializers.CharField(), required=False,
                                             help_text="Messages about no one field (e.g. fields that conflict).")


class FieldErrorsExtension(OpenApiSerializerExtension):
    """Document every other key of a 400 body: a field name with its messages, as DRF's validation gives them."""

    target_class = FieldErrorsSerializer

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_basic_serializer(self.target, direction)
        # A message list (most fields), one message (a few hand-written checks), or an object for a list's
        # items or a nested object's fields ({"ids": {"0": ["A valid integer is required."]}}).
        messages = {"type": "array", "items": {"type": "string"}}
        schema["additionalProperties"] = {"anyOf": [messages, {"type": "string"}, {"type": "object"}]}
        return schema


ERRORS = {
    400: OpenApiResponse(FieldErrorsSerializer, description="The request is invalid: the fields at fault say why "
                         "(`{field: [messages]}`), or `non_field_errors`, or `detail`."),
    401: OpenApiResponse(ErrorSerializer, description="Not signed in: send a session or `Authorization: Token`."),
    403: OpenApiResponse(ErrorSerializer, description="Refused, e.g. a session request without its CSRF token."),
    404: OpenApiResponse(ErrorSerializer, description="No such object, or it is not shared with you."),
    409: OpenApiResponse(ErrorSerializer, description="The object is not in a state that allows this; `detail` "
                         "says why."),
    413: OpenApiResponse(FieldErrorsSerializer, description="Too large: the file, or your uploads waiting in jobs "
                         "not yet started (LUX_PENDING_UPLOAD_QUOTA_BYTES); the field at fault says by how much."),
    500: OpenApiResponse(ErrorSerializer, description="The worker failed to run the model; `detail` says why."),
    503: OpenApiResponse(ErrorSerializer, description="No worker answered in time; `detail` says whether one runs."),
}


def documented(*default: int) -> Callable[..., dict]:
    """Return an `answers(ok, *codes)` whose error codes are `default` when none are named."""

    def answers(ok: dict, *codes: int) -> dict:
        """Return a responses mapping: the success answers plus the documented errors."""
        return {**ok, **{code: ERRORS[code] for code in (codes or default)}}

    return answers


answers = documented(401, 404)


def document_page_size_errors(result, generator, request, public):
    """Document the 400 a malformed `page_size` answers on every paginated list (Pages raises it)."""
    for path in result.get("paths", {}).values():
        for operation in path.values():
            names = {p.get("name") for p in operation.get("parameters", []) if p.get("in") == "query"}
            if "page_size" in names and "400" not in operation.get("responses", {}):
                operation["responses"]["400"] = {
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/FieldErrors"}}},
                    "description": ERRORS[400].description}
    return result
