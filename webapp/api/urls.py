"""The REST API: one router for every domain app, the OpenAPI schema and Swagger UI."""

from django.contrib.auth.decorators import login_required
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

import webapp.classify.api  # noqa: F401  (registers its viewsets before router.urls is read)
import webapp.datachecks.api  # noqa: F401  (registers its viewsets before router.urls is read)
import webapp.datasets.api  # noqa: F401  (registers its viewsets before router.urls is read)
import webapp.labelling.api  # noqa: F401  (registers its viewsets before router.urls is read)
import webapp.runs.api  # noqa: F401  (registers its viewsets before router.urls is read)
import webapp.searches.api  # noqa: F401  (registers its viewsets before router.urls is read)
import webapp.weights.api  # noqa: F401  (registers its viewsets before router.urls is read)
from webapp.api.router import router
from webapp.api.views import me, not_found
from webapp.core.csp import REDOC_POLICY, content_security_policy

urlpatterns = [
    path("me/", me, name="api_me"),
    path("", include(router.urls)),
    path("schema/", SpectacularAPIView.as_view(), name="api_schema"),
    # The documentation pages are pages: an anonymous visitor is sent to sign in, not given a JSON 401.
    # The split view serves Swagger UI's start-up code as a script file (?script): pages allow no inline script.
    path("docs/", login_required(SpectacularSwaggerSplitView.as_view(url_name="api_schema")), name="api_docs"),
    path("redoc/", login_required(content_security_policy(REDOC_POLICY)(
        SpectacularRedocView.as_view(url_name="api_schema"))), name="api_redoc"),
    # Last: an id or name no route pattern accepts gets the API's JSON 404, not Django's HTML page. Only
    # paths ending in a slash, so that APPEND_SLASH still redirects /api/runs to /api/runs/.
    re_path(r"^(?P<path>.*/)$", not_found),
]
