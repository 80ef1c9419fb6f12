"""Keep a row per running worker fresh, so /healthz and the run reaper know who is alive."""

import logging
import os
import threading

from celery.signals import worker_ready, worker_shutdown
from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

log = logging.getLogger(__name__)
INTERVAL_S = 10
_stop = threading.Event()


def describe_device() -> str:
    """Return the device this worker would train on."""
    import torch

    if settings.LUX_DEVICE != "cpu" and torch.cuda.is_available():
        return f"cuda ({torch.cuda.get_device_name(0)})"
    return "cpu"


def list_devices() -> list[dict]:
    """Return the GPUs this worker may train on (CUDA_VISIBLE_DEVICES applies): index, name, memory in GiB."""
    import torch

    if settings.LUX_DEVICE == "cpu" or not torch.cuda.is_available():
        return []
    devices = []
    for index in range(torch.cuda.device_count()):
        props = torch.cuda.get_device_properties(index)
        devices.append({"index": index, "name": props.name, "memory_gib": round(props.total_memory / 2**30, 1)})
    return devices


def beat(hostname: str, queues: str, device: str, devices: list[dict] | None = None) -> None:
    """Write this worker's heartbeat row."""
    from webapp.core.models import Worker

    close_old_connections()
    Worker.objects.update_or_create(
        hostname=hostname,
        defaults={"queues": queues, "pid": os.getpid(), "device": device, "devices": devices or [],
                  "last_seen": timezone.now()},
    )


def _loop(hostname: str, queues: str, device: str) -> None:
    devices = list_devices()  # once: the GPUs a process sees do not change while it runs
    while not _stop.is_set():
        try:
            beat(hostname, queues, device, devices)
        except Exception:  # a missed beat is logged; the next one may succeed
            log.exception("worker heartbeat failed")
        _stop.wait(INTERVAL_S)


@worker_ready.connect
def start_heartbeat(sender=None, **kwargs):
    """Start beating once the worker consumes."""
    consumer = sender
    hostname = consumer.hostname
    queues = ",".join(sorted(q.name for q in consumer.task_consumer.queues))
    from webapp.core.models import Worker

    Worker.objects.filter(hostname=hostname).update(started_at=timezone.now())
    threading.Thread(target=_loop, args=(hostname, queues, describe_device()), daemon=True).start()


@worker_shutdown.connect
def stop_heartbeat(sender=None, **kwargs):
    """Stop beating and remove this worker's row: a clean stop is not a crash."""
    _stop.set()
    from webapp.core.models import Worker

    try:
        close_old_connections()
        Worker.objects.filter(hostname=getattr(sender, "hostname", None)).delete()
    except Exception:
        log.exception("could not remove the worker row")
