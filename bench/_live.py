"""A live Lux for a benchmark: the web server and workers exactly as `make run` starts them, on loopback.

The command lines come from webapp.run.commands() (gunicorn's workers and threads, each worker's queues and
priority), so a benchmark measures what `make run` runs. Everything uses the throwaway database, media folder
and filesystem broker that _setup.start_django() made. Also: signed-in sessions and API tokens without the
sign-in form (its lockout would count a benchmark as an attack), a training run that trains for as long as
asked, and its throughput read from the run's own progress.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from _setup import ROOT

HOST = "127.0.0.1"  # loopback only: these benchmarks never reach another machine


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def child_env() -> dict:
    """Return the environment of a child: this process's throwaway database, media folder and broker."""
    from django.conf import settings

    return {**os.environ, "DATABASE_URL": f"sqlite:///{settings.DATABASES['default']['NAME']}",
            "MEDIA_ROOT": str(settings.MEDIA_ROOT), "PYTHONUNBUFFERED": "1", "LUX_HTTPS": "false"}


@dataclass
class Child:
    name: str
    proc: subprocess.Popen
    log: Path

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:]


def start(name: str, data_dir: Path, *, port: int, web_workers: int = 2) -> Child:
    """Start one child of `make run` ("web", "worker-gpu", "worker-interactive", ...); return it once it serves."""
    from webapp.run import commands

    command = commands(HOST, port, web_workers)[name]
    log = data_dir / f"{name}.log"
    proc = subprocess.Popen(command, cwd=ROOT, env=child_env(), stdout=open(log, "w"), stderr=subprocess.STDOUT,
                            start_new_session=True)
    child = Child(name, proc, log)
    deadline = time.monotonic() + 120
    while not _serves(child, port):
        if proc.poll() is not None or time.monotonic() > deadline:
            stop(child)
            raise RuntimeError(f"{name} did not start:\n{child.tail()}")
        time.sleep(0.2)
    return child


def _serves(child: Child, port: int) -> bool:
    if child.name != "web":
        return " ready." in child.log.read_text(errors="replace")
    try:
        connection = http.client.HTTPConnection(HOST, port, timeout=2)
        connection.request("GET", "/healthz")
        return connection.getresponse().status in (200, 503)
    except OSError:
        return False


def stop(child: Child) -> None:
    """Stop a child and its process group (a worker's pool processes too)."""
    if child.proc.poll() is None:
        os.killpg(child.proc.pid, signal.SIGTERM)
        try:
            child.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(child.proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def session_cookie(user) -> str:
    """Return a Cookie header of a fresh signed-in session of `user` (as the sign-in form would make)."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


def api_token(user) -> str:
    from rest_framework.authtoken.models import Token

    return Token.objects.get_or_create(user=user)[0].key


def multipart(fields: dict, files: dict) -> tuple[bytes, str]:
    """Return (body, content type) of a multipart form: fields {name: text}, files {name: (filename, bytes)}."""
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, (filename, data) in files.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                     f"Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


class Browser:
    """One keep-alive HTTP connection to the server, reopened after an error."""

    def __init__(self, port: int, headers: dict, timeout: float = 60):
        self.port, self.headers, self.timeout = port, headers, timeout
        self.connection = None

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        """Return (status, body bytes); status 0 when the connection failed."""
        for attempt in range(2):  # a keep-alive connection the server closed is reopened once
            if self.connection is None:
                self.connection = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout)
            try:
                self.connection.request(method, path, body=body, headers={**self.headers, **(headers or {})})
                response = self.connection.getresponse()
                return response.status, response.read()
            except (OSError, http.client.HTTPException):
                self.connection.close()
                self.connection = None
                if attempt:
                    return 0, b""
        return 0, b""


def squares(user, *, per_class: int, size: int, name: str = "Bench squares"):
    """Return a 3-class dataset of noisy coloured squares, added through the datasets service."""
    import io

    import numpy as np
    from PIL import Image

    from webapp.datasets.models import Dataset, DatasetClass
    from webapp.datasets.services.store import add_image

    rng = np.random.default_rng(0)
    dataset = Dataset.objects.create(owner=user, name=name)
    for position, colour in enumerate([(200, 40, 40), (40, 180, 60), (40, 60, 200)]):
        label = DatasetClass.objects.create(dataset=dataset, name=f"class {position}", position=position)
        for i in range(per_class):
            split = "val" if i % 10 == 0 else "test" if i % 10 == 1 else "train"
            pixels = np.clip(np.array(colour) + rng.integers(-60, 60, (size, size, 3)), 0, 255).astype(np.uint8)
            out = io.BytesIO()
            Image.fromarray(pixels).save(out, format="PNG")
            add_image(dataset, out.getvalue(), name=f"{position}-{i}.png", label=label, split=split)
    dataset.touch()
    return dataset


def launch_training(user, dataset, *, arch: str, image_size: int, batch_size: int):
    """Launch a run that trains far longer than any benchmark waits (cancel it at the end)."""
    from webapp.runs.forms import LaunchForm

    form = LaunchForm(data={"dataset": dataset.pk, "arch": arch, "image_size": image_size, "epochs": 1000,
                            "batch_size": batch_size, "device": "cpu", "patience": 0}, user=user)
    if not form.is_valid():
        raise RuntimeError(f"the training run was refused: {form.errors.as_json()}")
    return form.launch()


def _global_step(run_id: int) -> tuple[int, int] | None:
    """Return (steps done since the run started, batch size) while it trains, else None."""
    from webapp.runs.models import TrainingRun

    row = TrainingRun.objects.filter(pk=run_id).values("progress", "config", "status").first()
    progress = row["progress"] or {}
    if row["status"] != "running" or not progress.get("steps") or progress.get("phase") != "train":
        return None
    return (progress["epoch"] - 1) * progress["steps"] + progress["step"], row["config"]["batch_size"]


def wait_training(run_id: int, *, timeout: float = 300) -> None:
    """Wait until the run is past its data cache and takes steps."""
    from webapp.runs.models import TrainingRun

    deadline = time.monotonic() + timeout
    first = None
    while time.monotonic() < deadline:
        status = TrainingRun.objects.filter(pk=run_id).values_list("status", flat=True).first()
        if status in ("failed", "cancelled", "succeeded"):
            raise RuntimeError(f"the training run ended: {status}")
        seen = _global_step(run_id)
        if seen is not None and first is not None and seen[0] > first:
            return
        first = seen[0] if seen is not None else first
        time.sleep(0.5)
    raise TimeoutError("the training run did not start training")


def training_rate(run_id: int, seconds: float) -> float:
    """Return the run's training images per second over the next `seconds` (from its own progress)."""
    start = _sample(run_id)
    time.sleep(seconds)
    end = _sample(run_id)
    (t0, s0, batch), (t1, s1, _) = start, end
    return (s1 - s0) * batch / (t1 - t0)


def _sample(run_id: int) -> tuple[float, int, int]:
    for _ in range(200):
        seen = _global_step(run_id)
        if seen is not None:
            return time.monotonic(), seen[0], seen[1]
        time.sleep(0.05)
    raise RuntimeError("the training run reports no progress")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] if ordered else float("nan")

