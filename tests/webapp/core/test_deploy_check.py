"""Production settings pass Django's deployment checklist, and refuse to start without a secret."""

import os
import subprocess
import sys

from tests.workers import ROOT

SERVER_ONLY = ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE", "LUX_HTTPS")
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "x" * 20 + "-a-long-random-production-secret-for-the-check-" + "y" * 20,
    "DATABASE_URL": "postgres://lux@127.0.0.1:5432/lux",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "ALLOWED_HOSTS": "lux.example.org",
}


def manage(*args, **env):
    base = {k: v for k, v in os.environ.items() if k not in SERVER_ONLY}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env={**base, **env},
                          capture_output=True, text=True, timeout=120)


def test_production_settings_pass_check_deploy_without_warnings(tmp_path):
    result = manage("check", "--deploy", "--fail-level", "WARNING", LUX_DATA_DIR=str(tmp_path), **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    env = {k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"}
    result = manage("check", LUX_DATA_DIR=str(tmp_path), **env)
    assert result.returncode != 0
    assert "SECRET_KEY (or SECRET_KEY_FILE) is required when DEBUG is off" in result.stderr


def test_a_typo_in_a_boolean_stops_the_start(tmp_path):
    result = manage("check", LUX_DATA_DIR=str(tmp_path), DEBUG="yes")
    assert result.returncode != 0
    assert "DEBUG='yes' is not a boolean" in result.stderr


def test_the_embedded_default_generates_its_secret_once(tmp_path):
    assert manage("check", LUX_DATA_DIR=str(tmp_path)).returncode == 0
    key = (tmp_path / "secret_key").read_text()
    assert len(key) >= 50
    assert manage("check", LUX_DATA_DIR=str(tmp_path)).returncode == 0
    assert (tmp_path / "secret_key").read_text() == key
    assert oct((tmp_path / "secret_key").stat().st_mode)[-3:] == "600"
