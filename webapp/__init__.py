"""Lux's Django project: settings, URLs, the Celery app and one Django app per domain."""

from webapp.celery import app as celery_app

__all__ = ["celery_app"]
