"""Start Django for a benchmark on a throwaway SQLite database and media folder."""

import os
import platform
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def start_django(prefix: str, *, redis_url: str | None = None) -> Path:
    """Point Lux at a fresh temporary data folder, set Django up, migrate; return the folder.

    With `redis_url` the broker is that Redis (which the caller empties) instead of the filesystem.
    """
    data_dir = Path(tempfile.mkdtemp(prefix=prefix))
    for name in ("DATABASE_URL", "REDIS_URL", "MEDIA_ROOT"):
        os.environ.pop(name, None)  # the embedded default: SQLite and local media, inside data_dir
    if redis_url:
        os.environ["REDIS_URL"] = redis_url
    os.environ.update(LUX_DATA_DIR=str(data_dir), DJANGO_SETTINGS_MODULE="webapp.settings", DEBUG="0",
                      ALLOWED_HOSTS="testserver,127.0.0.1,localhost", LOG_LEVEL="WARNING")
    os.environ.setdefault("SECRET_KEY", "benchmark-only")
    sys.path.insert(0, str(ROOT))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    return data_dir


def machine() -> dict:
    """Return what the numbers were measured on."""
    return {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(),
            "load_average": os.getloadavg()[0]}
