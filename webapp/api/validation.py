"""What DRF lets through and the schema does not promise: wrong JSON types, malformed query parameters."""

from __future__ import annotations

from collections.abc import Mapping

from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.utils import html

from webapp.core.ids import MAX_ID, parse_id

_KINDS = {bool: "a boolean", str: "a string", int: "a whole number", float: "a number", list: "a list"}
MAX_INT = MAX_ID  # the largest whole number a database column holds; SQLite fails on larger ones


class IdField(serializers.IntegerField):
    """The id of a row: a whole number from 1 to MAX_INT (a larger one could never be an id)."""

    def __init__(self, **kwargs):
        super().__init__(min_value=kwargs.pop("min_value", 1), max_value=kwargs.pop("max_value", MAX_INT), **kwargs)


class ClassFilterField(serializers.CharField):
    """A class id, or `none` for images without a class."""

    def to_internal_value(self, data):
        text = super().to_internal_value(data)
        if text == "none":
            return text
        if parse_id(text) is None:
            raise serializers.ValidationError("Must be a class id or `none`.")
        return text


def _json_type(field) -> type | None:
    """Return the JSON type the schema gives `field` (float: any number), or None for no check."""
    if isinstance(field, serializers.BooleanField):
        return bool
    if isinstance(field, serializers.ChoiceField):
        return str if all(isinstance(choice, str) for choice in field.choices) else None
    if isinstance(field, serializers.CharField):
        return str
    if isinstance(field, serializers.IntegerField):
        return int
    if isinstance(field, (serializers.FloatField, serializers.DecimalField)):
        return float
    if isinstance(field, serializers.ListField):
        return list
    return None


def _is(value, kind: type) -> bool:
    if kind in (int, float) and isinstance(value, str):
        return True  # "3" for 3: DRF reads it (or says it is no number), and clients rely on that
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


def _type_error(field, value) -> str | None:
    kind = _json_type(field)
    if value is None or kind is None:
        return None  # null is the field's own business (allow_null)
    if not _is(value, kind):
        return f"Must be {_KINDS[kind]}."
    if kind is list and _json_type(field.child) is not None:
        wrong = next((item for item in value if item is not None and not _is(item, _json_type(field.child))), None)
        if wrong is not None:
            return f"Each item must be {_KINDS[_json_type(field.child)]}."
    return None


# Refuses a JSON body whose values have another type than the schema says, instead of converting them: DRF
# reads 3 as "3" for a string field, 1 as true and [1] as "[1]", and a client that sends those has a bug the
# schema can name. A number may still come as a numeric string, as DRF has always read it. Form and multipart
# bodies are all strings, so DRF converts them as always. (A comment, not a docstring: drf-spectacular would
# describe every serializer without its own docstring with it.)
class StrictTypes:
    def to_internal_value(self, data):
        if isinstance(data, Mapping) and not html.is_html_input(data):
            errors = {}
            for field in self.fields.values():
                if not field.read_only and field.field_name in data:
                    message = _type_error(field, data[field.field_name])
                    if message:
                        errors[field.field_name] = [message]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


def query_params(request, serializer_class) -> dict:
    """Return the query parameters `serializer_class` declares, validated: a malformed one is a 400 naming it."""
    # A plain dict, not the QueryDict: DRF reads an empty form field as "left out", but `?status=` is no status.
    query = serializer_class(data=request.query_params.dict())
    query.is_valid(raise_exception=True)
    return query.validated_data


class Pages(PageNumberPagination):
    """Pages of a size the client may choose with `page_size` (at most `max_page_size`); a malformed size is a 400."""

    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is not None and parse_id(raw) is None:
            raise serializers.ValidationError({self.page_size_query_param: ["Must be a whole number of at least 1."]})
        return super().get_page_size(request)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"]["minimum"] = 1
                parameter["description"] = f"Results per page (at most {self.max_page_size})."
        return parameters
