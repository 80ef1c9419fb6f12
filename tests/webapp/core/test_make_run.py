"""`make run` starts the web server and the workers as children of one process, restarts one that dies,
and Ctrl-C stops them all."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
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
            if report and report["workers"]["count"] >= 3:
                break
            time.sleep(1)
        # Read through a file of its own: seeking the descriptor the children share would move where they write.
        output = (tmp_path / "run.log").read_text()
        assert report and report["ok"], output
        assert report["workers"]["queues"] == ["default", "gpu", "interactive"], output
        # The embedded default: SQLite and the filesystem broker in the data folder (/healthz tells staff only).
        assert (tmp_path / "lux.sqlite3").is_file() and (tmp_path / "broker" / "queue").is_dir()
        pids = {name: int(pid) for name, pid in re.findall(r"started (\S+) \(pid (\d+)\)", output)}
        assert set(pids) == {"web", "worker-gpu", "worker-interactive", "worker-default"}
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
        proc.wait(timeout=60)
    assert "Lux stopped." in (tmp_path / "run.log").read_text()
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in pids.values()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [name for name, pid in pids.items() if alive(pid)]
    assert healthz(port) is None


def child_pids(pid: int) -> list[int]:
    """Return the pids of a process's children, read from /proc."""
    found = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as f:
            found += [int(p) for p in f.read().split()]
    return found


def child_running(pid: int, marker: str) -> int | None:
    """Return the pid of the live child whose command line holds `marker`, or None."""
    for child in child_pids(pid):
        try:
            with open(f"/proc/{child}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode()
        except FileNotFoundError:
            continue
        if marker in cmdline and alive(child):
            return child
    return None


def test_it_restarts_a_worker_that_dies_while_the_web_server_keeps_answering(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY")}
    env["LUX_DATA_DIR"] = str(tmp_path)
    log = open(tmp_path / "run.log", "w+")
    proc = subprocess.Popen([sys.executable, "-m", "webapp.run", "--port", str(port), "--web-workers", "1"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def output() -> str:
        return (tmp_path / "run.log").read_text()

    try:
        deadline = time.monotonic() + 150
        report = None
        while time.monotonic() < deadline and proc.poll() is None:
            report = healthz(port)
            if report and report["workers"]["count"] >= 3:
                break
            time.sleep(1)
        assert report and report["workers"]["count"] >= 3, output()
        killed = child_running(proc.pid, "train@%h")
        assert killed, output()
        os.kill(killed, signal.SIGKILL)

        answers, restarted = [], None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            answers.append(healthz(port))
            restarted = child_running(proc.pid, "train@%h")
            if restarted and restarted != killed:
                break
            time.sleep(0.2)
        assert restarted and restarted != killed, output()
        assert "worker-gpu exited with code -9; restarting in 1 s (restart 1)" in output()
        assert f"restarted worker-gpu (pid {restarted})" in output()
        assert answers and all(answer and answer["ok"] for answer in answers), output()
        # The new worker joins: its "ready" line is the second one on the gpu queue's name.
        deadline = time.monotonic() + 90
        while len(re.findall(r"train@\S+ ready", output())) < 2:
            assert time.monotonic() < deadline and proc.poll() is None, output()
            time.sleep(0.5)
        assert proc.poll() is None, output()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=60)
    assert "Lux stopped." in output(), output()
    assert not alive(restarted)
