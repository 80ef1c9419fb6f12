"""A task goes through a real broker to a real worker and its result comes back, over each broker kind."""

import subprocess
import sys

import pytest
import redis

from tests.workers import ROOT, WorkerProcess, worker_env
from webapp.core.tasks import ping

pytestmark = [pytest.mark.slow, pytest.mark.smoke]
REDIS_FOR_TESTS = "redis://127.0.0.1:6379/14"


def test_a_task_round_trips_through_the_configured_broker(worker):
    result = ping.apply_async(args=["hello"], queue="default")
    assert result.get(timeout=60)["message"] == "hello"


def test_a_task_on_the_gpu_queue_reaches_the_worker(worker):
    result = ping.apply_async(args=["on gpu"], queue="gpu")
    assert result.get(timeout=60)["message"] == "on gpu"


def redis_answers() -> bool:
    try:
        return redis.Redis.from_url(REDIS_FOR_TESTS, socket_timeout=1).ping()
    except redis.RedisError:
        return False


@pytest.mark.parametrize("kind", ["filesystem", "redis"])
def test_a_task_round_trips_through_each_broker_kind(kind, transactional_db, tmp_path):
    if kind == "redis" and not redis_answers():
        pytest.skip("no Redis on 127.0.0.1:6379 (CI starts one)")
    # A separate broker from the session's worker: both the sender and the worker are fresh processes.
    extra = {"LUX_DATA_DIR": str(tmp_path)}
    if kind == "redis":
        extra["REDIS_URL"] = REDIS_FOR_TESTS
    else:
        extra["REDIS_URL"] = ""
    worker = WorkerProcess(queues=("default",), env=extra)
    worker.start()
    try:
        sender = subprocess.run(
            [sys.executable, "-c",
             "import django; django.setup(); from webapp.core.tasks import ping; from webapp.celery import app;"
             "print(app.conf.broker_url.split(':')[0]); print(ping.delay('via ' + app.conf.broker_url.split(':')[0])"
             ".get(timeout=60)['message'])"],
            cwd=ROOT, env={**worker_env(**extra), "DJANGO_SETTINGS_MODULE": "webapp.settings"},
            capture_output=True, text=True, timeout=120,
        )
    finally:
        worker.stop()
    assert sender.returncode == 0, sender.stderr + worker.log()
    transport, message = sender.stdout.strip().splitlines()[-2:]
    assert (transport, message) == (kind, f"via {kind}")
