"""While the database is unreachable or busy, pages and the API answer 503 with a clear message, not a 500."""

import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from django.db import connection
from django.test import Client

from tests.conftest import PASSWORD
from tests.workers import ROOT

SESSION = {"Cookie": "sessionid=a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6"}  # any key: looking it up needs the database


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port: int, path: str, headers: dict | None = None):
    """Return (status, headers, body) of a GET, following no redirect."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args):
            return None

    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers or {})
    try:
        with urllib.request.build_opener(NoRedirect).open(request, timeout=30) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


def server_env(tmp_path, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL",)}
    env.update(DATABASE_URL=database_url, SECRET_KEY="outage-test", LUX_HTTPS="false", DEBUG="false",
               LUX_DATA_DIR=str(tmp_path / "data"))
    return env


@pytest.fixture
def serve(tmp_path):
    """Start gunicorn on a free port with the given environment; return its port."""
    servers = []

    def start(env: dict[str, str]) -> int:
        port = free_port()
        log = open(tmp_path / f"web-{port}.log", "w+")
        proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "webapp.wsgi", "--bind", f"127.0.0.1:{port}",
                                 "--workers", "1"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        servers.append(proc)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return port
            except OSError:
                time.sleep(0.2)
        log.seek(0)
        raise AssertionError(f"gunicorn did not start:\n{log.read()}")

    yield start
    for proc in servers:
        proc.terminate()
        proc.wait(timeout=30)


def assert_outage_page(status, headers, body):
    assert status == 503, body
    assert headers["Content-Type"].startswith("text/html")
    assert headers["Retry-After"] == "30"
    assert "The database is unreachable" in body
    assert "Lux will recover by itself" in body
    assert "lux.css" in body  # the site's own page, not a bare error


@pytest.mark.slow
def test_pages_and_api_answer_503_when_postgresql_is_unreachable(tmp_path, serve):
    closed = free_port()  # nothing listens there
    port = serve(server_env(tmp_path, f"postgres://lux:secret@127.0.0.1:{closed}/lux"))

    assert_outage_page(*get(port, "/", SESSION))  # a signed-in visitor: the session lookup fails first
    assert_outage_page(*get(port, "/datasets/", SESSION))
    assert_outage_page(*get(port, "/accounts/login/"))  # an anonymous one: the view's own query fails

    for headers in ({"Authorization": "Token 0123456789abcdef"}, SESSION):
        status, response_headers, body = get(port, "/api/me/", headers)
        assert status == 503, body
        assert response_headers["Content-Type"] == "application/json"
        assert response_headers["Retry-After"] == "30"
        assert body.startswith('{"detail": "The database is unreachable')

    status, _, body = get(port, "/healthz")  # its own report, as before
    assert status == 503 and '"database": {"ok": false' in body

    # The operator's log says what happened in one line per request, without a 500 traceback each time.
    log = (tmp_path / f"web-{port}.log").read_text()
    assert "GET / answered 503: connection failed" in log
    assert "Internal Server Error" not in log and "Traceback" not in log


@pytest.mark.slow
def test_it_recovers_by_itself_when_the_database_comes_back(tmp_path, serve):
    db_dir = tmp_path / "gone"  # a volume that is not mounted yet: SQLite cannot open the file
    env = server_env(tmp_path, f"sqlite:///{db_dir}/lux.sqlite3")
    port = serve(env)
    assert_outage_page(*get(port, "/accounts/login/"))

    db_dir.mkdir()
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)

    # The same server, not restarted: a fresh install sends the visitor to create the first account.
    status, headers, _ = get(port, "/accounts/login/")
    assert status == 302 and headers["Location"].endswith("/accounts/first/")
    assert get(port, "/", SESSION)[0] == 302


@pytest.mark.django_db(transaction=True)
def test_a_locked_sqlite_database_answers_503_busy_then_serves_again(owner):
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's own lock")
    client = Client(raise_request_exception=False)
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA busy_timeout = 200")  # production waits 30 s before giving up
    holder = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process writing: signing in must wait for it
    try:
        response = client.post("/accounts/login/", {"username": owner.username, "password": PASSWORD})
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "The database is busy, try again" in response.content.decode()

    response = client.post("/accounts/login/", {"username": owner.username, "password": PASSWORD})
    assert response.status_code == 302


@pytest.mark.urls("tests.webapp.core.outage_urls")
@pytest.mark.django_db(transaction=True)
def test_a_failure_after_the_view_answered_is_a_503_too():
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's own lock")
    client = Client(raise_request_exception=False)
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA busy_timeout = 200")
    holder = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        response = client.get("/remember/")  # the view answers; saving the session then waits for the lock
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert response.status_code == 503
    assert "The database is busy, try again" in response.content.decode()
    assert client.get("/remember/").content == b"remembered"
