"""The Celery app: settings under the CELERY namespace, tasks discovered in every Django app."""

import os

from celery import Celery
from kombu import Exchange, Queue
from kombu.transport import TRANSPORT_ALIASES

# filesystem:// (the embedded default) uses Lux's atomic-write variant of kombu's transport.
TRANSPORT_ALIASES["filesystem"] = "webapp.broker:Transport"

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")

GPU_QUEUE = "gpu"  # training, evaluation, batch classification: one task per GPU at a time
INTERACTIVE_QUEUE = "interactive"  # quick tests and explanations: a person waits, so never behind training
DEFAULT_QUEUE = "default"  # ingest, thumbnails, dataset checks
QUEUES = (DEFAULT_QUEUE, GPU_QUEUE, INTERACTIVE_QUEUE)

app = Celery("webapp")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Declared up front so that publishers and workers agree on bindings, whatever the broker.
app.conf.task_queues = [Queue(name, Exchange(name, type="direct"), routing_key=name) for name in QUEUES]
app.autodiscover_tasks()
