"""JSON errors for every API failure, including ones Django raises before DRF sees the request."""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, TooManyFilesSent
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from webapp.core.errors import FieldError


def json_exception_handler(exc, context):
    """Return DRF's response, a service's FieldError as its JSON body, or a JSON 400 for Django's request limits."""
    response = exception_handler(exc, context)
    if response is not None:
        return response
    if isinstance(exc, FieldError):
        return Response(exc.body(), status=exc.status)
    if isinstance(exc, TooManyFilesSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FILES
        return Response(
            {"detail": f"Too many files in one request: send at most {limit} files per request."},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, RequestDataTooBig):
        return Response({"detail": "The request is too large."}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, SuspiciousOperation):
        return Response({"detail": str(exc) or "Bad request."}, status=status.HTTP_400_BAD_REQUEST)
    return None
