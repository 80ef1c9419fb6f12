"""Answer a clean 503, not a 500, when the job queue (the broker) refuses a task; the job itself is saved.

The row was committed before its task was sent, so nothing is rolled back: the reaper sends it once the
broker answers again (webapp.core.reaping). The API answers 503 with the message; a page goes to the saved
job's page with the message shown as a warning (a 503 page on a form POST invites sending it twice).
"""

import logging

from django.contrib import messages
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.template import loader
from django.utils.cache import add_never_cache_headers

from webapp.core.reaping import QueueUnreachable

log = logging.getLogger(__name__)
RETRY_AFTER_S = 30


class QueueOutageMiddleware:
    """Turn QueueUnreachable, raised by a view that saved a job and could not send it, into a clean answer."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, QueueUnreachable):
            return None
        log.warning("%s %s: %s", request.method, request.path, exception.message)
        if request.path_info.startswith("/api/"):
            response = JsonResponse({"detail": exception.message}, status=503)
        elif exception.url:
            messages.warning(request, exception.message)
            return HttpResponseRedirect(exception.url)
        else:
            html = loader.render_to_string("503.html", {"message": exception.message, "retry_after": RETRY_AFTER_S})
            response = HttpResponse(html, status=503)
        response["Retry-After"] = str(RETRY_AFTER_S)
        add_never_cache_headers(response)
        return response
