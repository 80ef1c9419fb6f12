import pytest

from webapp.dburl import parse_database_url
from webapp.env import EnvError


def test_it_parses_a_postgres_url():
    db = parse_database_url("postgres://lux:p%40ss@db.internal:5433/luxdb?sslmode=require")
    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert (db["NAME"], db["USER"], db["PASSWORD"], db["HOST"], db["PORT"]) == (
        "luxdb", "lux", "p@ss", "db.internal", "5433")
    assert db["OPTIONS"] == {"sslmode": "require"}


def test_sqlite_uses_wal_and_a_busy_timeout(tmp_path):
    db = parse_database_url(f"sqlite:///{tmp_path}/lux.sqlite3")
    assert "journal_mode=WAL" in db["OPTIONS"]["init_command"]
    assert db["OPTIONS"]["timeout"] >= 10
    assert db["OPTIONS"]["transaction_mode"] == "IMMEDIATE"


@pytest.mark.parametrize("url,message", [
    ("mysql://x@y/z", "not supported"),
    ("postgres://x@y", "no database name"),
    ("sqlite:///", "needs a file path"),
])
def test_it_explains_a_bad_url(url, message):
    with pytest.raises(EnvError, match=message):
        parse_database_url(url)
