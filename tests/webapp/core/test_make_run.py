"""`make run` starts the web server and both workers as children of one process, and Ctrl-C stops them all."""

import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.request

import pytest

from tests.workers import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.smoke]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purposes.
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split(")")[-1].split()[0] != "Z"


def healthz(port: int) -> dict | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
            return json.load(r)
    except OSError:
        return None


def test_make_run_serves_with_workers_and_stops_cleanly(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY")}
    env["LUX_DATA_DIR"] = str(tmp_path)  # the embedded default, in a folder of its own
    log = open(tmp_path / "run.log", "w+")
    proc = subprocess.Popen(["make", "--no-print-directory", "run", f"PORT={port}"], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    report = None
    try:
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline and proc.poll() is None:
            report = healthz(port)
            if report and report["workers"]["count"] >= 2:
                break
            time.sleep(1)
        log.seek(0)
        output = log.read()
        assert report and report["ok"], output
        assert report["workers"]["queues"] == ["default", "gpu"], output
        assert report["database"]["vendor"] == "sqlite"
        assert report["broker"]["transport"] == "filesystem"
        pids = {name: int(pid) for name, pid in re.findall(r"started (\S+) \(pid (\d+)\)", output)}
        assert set(pids) == {"web", "worker-gpu", "worker-default"}
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
        proc.wait(timeout=60)
    log.seek(0)
    assert "Lux stopped." in log.read()
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in pids.values()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [name for name, pid in pids.items() if alive(pid)]
    assert healthz(port) is None
