"""Answer 503, not 500, while the database is unreachable or busy; Lux recovers by itself when it answers again.

Nothing here remembers an outage: every request tries the database afresh (Django opens, health-checks and
closes connections per request), so the first request after the database is back is served normally.
"""

import logging
import sqlite3
import sys

from django.core.signals import got_request_exception
from django.db.utils import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template import loader
from django.utils.cache import add_never_cache_headers

log = logging.getLogger(__name__)

UNREACHABLE = ("The database is unreachable. Lux will recover by itself as soon as the database answers "
               "again; try again in a minute.")
BUSY = "The database is busy, try again in a few seconds."
RETRY_AFTER_S = {UNREACHABLE: 30, BUSY: 5}
# PostgreSQL's codes for a statement that waited too long for a lock or lost a race: up, but busy.
BUSY_SQLSTATES = {"55P03", "40P01", "40001", "57014"}
DATABASE_ERRORS = (OperationalError, InterfaceError)


def outage_message(exc: BaseException | None) -> str | None:
    """Return what to tell the visitor about a database error, or None when it is a bug rather than an outage."""
    if not isinstance(exc, DATABASE_ERRORS):
        return None
    cause = exc.__cause__
    if isinstance(cause, sqlite3.Error):
        text = str(cause)
        if "locked" in text or "busy" in text:
            return BUSY
        if "unable to open" in text or "disk I/O" in text:
            return UNREACHABLE
        return None  # "no such table" and other SQL mistakes are bugs: a 500 says so
    if getattr(cause, "sqlstate", None) in BUSY_SQLSTATES:
        return BUSY
    return UNREACHABLE


def outage_response(request, message: str, exc: BaseException) -> HttpResponse:
    """Return the 503 for an outage: JSON under /api/, otherwise a page rendered without the database."""
    log.warning("%s %s answered 503: %s", request.method, request.path, " ".join(str(exc).split())[:300])
    retry_after = RETRY_AFTER_S[message]
    if request.path_info.startswith("/api/"):
        response = JsonResponse({"detail": message}, status=503)
    else:
        # No request: context processors would look up the signed-in user in the database that is down.
        html = loader.render_to_string("503.html", {"message": message, "retry_after": retry_after})
        response = HttpResponse(html, status=503)
    response["Retry-After"] = str(retry_after)
    add_never_cache_headers(response)  # no proxy or browser may keep serving the outage once it is over
    return response


def note_outage(sender, request=None, **kwargs):
    """Mark the request when the exception Django is turning into a 500 is a database outage."""
    exc = sys.exc_info()[1]  # called inside Django's `except`, as the test client's own receiver relies on
    if request is not None and outage_message(exc):
        request.database_outage = exc


class DatabaseOutageMiddleware:
    """Turn an unreachable or busy database into a 503, wherever in the request the error shows up.

    Views' errors arrive in process_exception. Errors in other middleware (the session, the signed-in user,
    a lazily rendered template) never reach it: Django turns them into a 500 response on the spot, so a
    got_request_exception receiver marks the request and this middleware, placed outside them, swaps the 500.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        got_request_exception.connect(note_outage, dispatch_uid=__name__)

    def __call__(self, request):
        response = self.get_response(request)
        exc = getattr(request, "database_outage", None)
        if exc is not None and response.status_code == 500:
            return outage_response(request, outage_message(exc), exc)
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        # LoginRequiredMiddleware looks up the signed-in user next anyway, for every view; doing it here first
        # answers an outage with a clean 503 instead of a logged 500 traceback on every signed-in request.
        if not hasattr(request, "user"):
            return None
        try:
            request.user.is_authenticated  # noqa: B018  (evaluates the lazy user: session and user rows)
        except DATABASE_ERRORS as exc:
            message = outage_message(exc)
            if message is None:
                raise
            return outage_response(request, message, exc)
        return None

    def process_exception(self, request, exception):
        message = outage_message(exception)
        return outage_response(request, message, exception) if message else None
