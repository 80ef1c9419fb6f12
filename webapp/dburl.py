"""Turn a DATABASE_URL into Django's DATABASES entry."""

from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from webapp.env import EnvError

POSTGRES_SCHEMES = {"postgres", "postgresql", "pgsql"}


def sqlite_database(path: Path) -> dict:
    """Return an SQLite entry tuned so a worker and the web server can write at the same time."""
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(path),
        "OPTIONS": {
            # WAL lets readers go on while one writer writes; IMMEDIATE takes the write lock up front,
            # so two writers queue on the busy timeout instead of failing with "database is locked".
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
        },
        "TEST": {"NAME": str(path.with_name("test_" + path.name))},
    }


def parse_database_url(url: str) -> dict:
    """Return the DATABASES entry for a postgres:// or sqlite:/// URL."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        if not parts.path or parts.path == "/":
            raise EnvError("DATABASE_URL=sqlite:/// needs a file path, e.g. sqlite:////srv/lux/lux.sqlite3")
        return sqlite_database(Path(unquote(parts.path)))
    if parts.scheme not in POSTGRES_SCHEMES:
        raise EnvError(f"DATABASE_URL scheme {parts.scheme!r} is not supported: use postgres:// or sqlite:///")
    name = unquote(parts.path.lstrip("/"))
    if not name:
        raise EnvError("DATABASE_URL has no database name, e.g. postgres://lux@db:5432/lux")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name,
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
        "OPTIONS": dict(parse_qsl(parts.query)),
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
    }
