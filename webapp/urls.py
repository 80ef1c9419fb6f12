"""Lux's URLs: pages per app, the REST API under /api/, and /healthz."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("webapp.core.urls")),
    path("accounts/", include("webapp.accounts.urls")),
    path("datasets/", include("webapp.datasets.urls")),
    path("datasets/", include("webapp.labelling.urls")),
    path("datasets/", include("webapp.datachecks.urls")),
    path("runs/", include("webapp.runs.urls")),
    path("classify/", include("webapp.classify.urls")),
    path("weights/", include("webapp.weights.urls")),
    path("searches/", include("webapp.searches.urls")),
    path("api/", include("webapp.api.urls")),
    path("admin/", admin.site.urls),
]
