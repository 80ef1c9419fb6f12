"""Start and stop real Celery worker processes for tests, pointed at the test database."""

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from django.conf import settings

from webapp.celery import QUEUES

ROOT = Path(__file__).resolve().parent.parent


def database_url() -> str:
    """Return a DATABASE_URL naming the database the tests are using right now."""
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def worker_env(**extra: str) -> dict[str, str]:
    """Return the environment a worker needs to share the tests' database, broker and media."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url(),
        SECRET_KEY=settings.SECRET_KEY,
        LUX_DATA_DIR=str(settings.DATA_DIR),
        MEDIA_ROOT=str(settings.MEDIA_ROOT),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def purge_broker() -> None:
    """Drop messages left by earlier test sessions so a new worker does not run stale tasks."""
    if settings.REDIS_URL:
        from webapp.celery import app

        for queue in QUEUES:
            with app.connection_for_write() as conn:
                conn.default_channel.queue_purge(queue)
        return
    queue_dir = settings.BROKER_DIR / "queue"
    shutil.rmtree(queue_dir, ignore_errors=True)
    queue_dir.mkdir(parents=True, exist_ok=True)


class WorkerProcess:
    """A `celery worker` subprocess with a unique name, its log kept for failure messages."""

    def __init__(self, *, queues=QUEUES, concurrency: int = 1, env: dict | None = None):
        self.queues = queues
        self.concurrency = concurrency
        self.hostname = f"test-{uuid.uuid4().hex[:8]}@%h"
        self.log_path = Path(settings.DATA_DIR) / f"worker-{uuid.uuid4().hex[:8]}.log"
        self.extra_env = env or {}
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 90, *, wait: bool = True) -> None:
        """Start the worker and (unless `wait` is false) wait until it consumes from its queues."""
        cmd = [sys.executable, "-m", "celery", "-A", "webapp", "worker", "-Q", ",".join(self.queues),
               "-c", str(self.concurrency), "-n", self.hostname, "--without-gossip", "--without-mingle",
               "--loglevel", "INFO"]
        self.log_file = open(self.log_path, "w")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=worker_env(**self.extra_env),
                                     stdout=self.log_file, stderr=subprocess.STDOUT, start_new_session=True)
        if wait:
            self.wait_ready(timeout)

    def wait_ready(self, timeout: float = 90) -> None:
        """Wait until the started worker consumes from its queues."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited with {self.proc.returncode}:\n{self.log()}")
            if " ready." in self.log():
                return
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"worker not ready after {timeout}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL the whole worker (parent and pool children), as an out-of-memory kill would."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self, timeout: float = 30) -> None:
        """Stop the worker cleanly (SIGTERM: warm shutdown), killing it if it does not go."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        if getattr(self, "log_file", None):
            self.log_file.close()
