"""The shared router every domain app registers its viewsets on (in its own api module)."""

from rest_framework.routers import DefaultRouter

router = DefaultRouter()
