"""The REST API: one router for every domain app, the OpenAPI schema and Swagger UI."""

from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

import webapp.classify.api  # noqa: F401  (registers its viewsets before router.urls is read)
import webapp.datasets.api  # noqa: F401  (registers its viewsets before router.urls is read)
import webapp.runs.api  # noqa: F401  (registers its viewsets before router.urls is read)
from webapp.api.router import router
from webapp.api.views import me

urlpatterns = [
    path("me/", me, name="api_me"),
    path("", include(router.urls)),
    path("schema/", SpectacularAPIView.as_view(), name="api_schema"),
    # The documentation pages are pages: an anonymous visitor is sent to sign in, not given a JSON 401.
    path("docs/", login_required(SpectacularSwaggerView.as_view(url_name="api_schema")), name="api_docs"),
    path("redoc/", login_required(SpectacularRedocView.as_view(url_name="api_schema")), name="api_redoc"),
]
