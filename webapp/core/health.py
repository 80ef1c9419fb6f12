"""Check the parts Lux needs: database, broker, workers, torch."""

import importlib.metadata

from django.db import connection

from webapp.celery import app
from webapp.core.models import Worker

BROKER_TIMEOUT_S = 2.0


def check_database() -> dict:
    """Return whether a trivial query succeeds."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return {"ok": True, "vendor": connection.vendor}
    except Exception as exc:  # any driver error means "not ok"; the message says which
        return {"ok": False, "vendor": connection.vendor, "error": str(exc)[:300]}


def check_broker() -> dict:
    """Return whether the broker accepts a connection within a short timeout."""
    transport = app.conf.broker_url.split("://", 1)[0]
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT_S)
        return {"ok": True, "transport": transport}
    except Exception as exc:
        return {"ok": False, "transport": transport, "error": str(exc)[:300]}


def check_workers() -> dict:
    """Return the workers whose heartbeat is recent."""
    try:
        alive = list(Worker.objects.alive().values("hostname", "queues", "device", "devices", "last_seen"))
    except Exception as exc:
        return {"ok": False, "workers": [], "error": str(exc)[:300]}
    for row in alive:
        row["last_seen"] = row["last_seen"].isoformat()
    queues = sorted({q for row in alive for q in row["queues"].split(",") if q})
    return {"ok": bool(alive), "count": len(alive), "queues": queues, "workers": alive}


def torch_devices() -> dict:
    """Return the installed torch version and the devices it can use."""
    import torch  # imported here: the web process pays for torch only when asked

    devices = ["cpu"]
    if torch.cuda.is_available():
        devices += [f"cuda:{i} {torch.cuda.get_device_name(i)}" for i in range(torch.cuda.device_count())]
    return {
        "torch": torch.__version__,
        "torchvision": importlib.metadata.version("torchvision"),
        "cuda_available": torch.cuda.is_available(),
        "devices": devices,
    }


def health() -> dict:
    """Return the full health report; `ok` is true when database and broker answer."""
    report = {"database": check_database(), "broker": check_broker(), "workers": check_workers()}
    report["torch"] = torch_devices()
    report["ok"] = report["database"]["ok"] and report["broker"]["ok"]
    return report


def status() -> dict:
    """Return whether each part answers, without what only staff may read (errors, hosts, versions)."""
    database, broker, workers = check_database(), check_broker(), check_workers()
    return {
        "ok": database["ok"] and broker["ok"],
        "database": {"ok": database["ok"]},
        "broker": {"ok": broker["ok"]},
        "workers": {"ok": workers["ok"], "count": workers.get("count", 0), "queues": workers.get("queues", [])},
    }
