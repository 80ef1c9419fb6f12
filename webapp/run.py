"""Start Lux on one machine: migrate, then the web server and one worker per queue, as children of this process.

A child that dies is started again after a back-off that doubles (1 s, 2 s, 4 s ... at most 30 s); a crash more
than a minute after the last one starts the count afresh. Only Ctrl-C (SIGINT), SIGTERM, or a child crashing
5 times in a row, each within a minute of the last, stops every child.
"""

import argparse
import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STOP_GRACE_S = 20


# Training and batch jobs take every core they are given, for minutes or hours; pages and quick tests are short
# and a person waits on each. So the gpu worker runs at a lower CPU priority: it still gets all the CPU nobody
# else asks for (pages cost the same CPU at either priority), but a page no longer waits behind a training step
# for its share of a core (bench/load.py, 50 people browsing on 2 cores: page p95 104 ms at nice 10 against
# 354 ms at nice 0, in alternating windows under the same background load).
BACKGROUND = ["nice", "-n", "10"]
# The interactive worker looks for tasks every 10 ms instead of 50 on the embedded broker (about 1% of a core
# when idle), as a person waits on each answer (bench/quick_test_latency.py).
FAST_POLL = ["env", "LUX_BROKER_POLL_MS=10"]


def commands(host: str, port: int, web_workers: int) -> dict[str, list[str]]:
    """Return the command line of each child, keyed by a short name."""
    py = sys.executable
    return {
        # Two processes for two cores (page views hold the GIL while they render); four threads each, so a
        # request waiting (a quick test's few seconds at most, the database) does not hold a core's only thread.
        "web": [py, "-m", "gunicorn", "webapp.wsgi", "--bind", f"{host}:{port}", "--workers", str(web_workers),
                "--threads", "4", "--timeout", "300", "--access-logfile", "-"],
        # One task at a time on the gpu queue; ingest and checks on their own worker so they never wait behind training.
        # Named for its work, not its hardware: on a machine without a GPU it trains on the CPU (its devices are in
        # its heartbeat, shown on the dashboard and /healthz).
        "worker-gpu": [*BACKGROUND, py, "-m", "celery", "-A", "webapp", "worker", "-Q", "gpu", "-c", "1",
                       "-n", "train@%h", "--loglevel", "INFO"],
        # Quick tests and explanations: a person waits, so a worker (and model cache) of their own, never training.
        "worker-interactive": [*FAST_POLL, py, "-m", "celery", "-A", "webapp", "worker", "-Q", "interactive",
                               "-c", "1", "-n", "interactive@%h", "--loglevel", "INFO"],
        "worker-default": [py, "-m", "celery", "-A", "webapp", "worker", "-Q", "default", "-c", "2",
                           "-n", "default@%h", "--loglevel", "INFO"],
    }


def say(message: str, *, error: bool = False) -> None:
    """Print one line of the supervisor's log, at once (the terminal and `make run` show it as it happens)."""
    print(message, file=sys.stderr if error else sys.stdout, flush=True)


def kill_leftovers(pgid: int) -> None:
    """Kill what is left of a dead child's process group (a worker's pool processes outlive a SIGKILL)."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


@dataclass
class Child:
    """One supervised child: its command, its process (None while it waits out a back-off) and its crashes."""

    name: str
    command: list[str]
    proc: subprocess.Popen | None = None
    restart_at: float = 0.0
    restarts: int = 0
    streak: int = 0  # crashes in a row, each within the crash window of the one before
    last_crash: float = field(default=-math.inf)


class Supervisor:
    """Keep a set of children running: restart a dead one with back-off, give up on one that keeps crashing."""

    def __init__(self, commands: dict[str, list[str]], *, cwd: Path = ROOT, backoff_s: float = 1.0,
                 max_backoff_s: float = 30.0, crash_limit: int = 5, crash_window_s: float = 60.0,
                 poll_s: float = 0.5, stop_grace_s: float = STOP_GRACE_S):
        self.children = [Child(name, cmd) for name, cmd in commands.items()]
        self.cwd = cwd
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.crash_limit = crash_limit
        self.crash_window_s = crash_window_s
        self.poll_s = poll_s
        self.stop_grace_s = stop_grace_s

    def spawn(self, child: Child) -> None:
        """Start one child in a process group of its own, so Ctrl-C reaches it only through us, in order."""
        child.proc = subprocess.Popen(child.command, cwd=self.cwd, start_new_session=True)
        say(f"{'restarted' if child.restarts else 'started'} {child.name} (pid {child.proc.pid})")

    def check(self) -> str | None:
        """Restart children that died or are due; return why everything must stop, or None."""
        now = time.monotonic()
        for child in self.children:
            if child.proc is None:
                if now >= child.restart_at:
                    self.spawn(child)
                continue
            code = child.proc.poll()
            if code is None:
                continue
            kill_leftovers(child.proc.pid)
            child.proc = None
            child.streak = child.streak + 1 if now - child.last_crash <= self.crash_window_s else 1
            child.last_crash = now
            if child.streak >= self.crash_limit:
                return (f"{child.name} exited with code {code}: {child.streak} crashes in a row, each within "
                        f"{self.crash_window_s:g} s of the last; stopping Lux")
            delay = min(self.backoff_s * 2 ** (child.streak - 1), self.max_backoff_s)
            child.restarts += 1
            child.restart_at = now + delay
            say(f"{child.name} exited with code {code}; restarting in {delay:g} s (restart {child.restarts})",
                error=True)
        return None

    def stop(self) -> None:
        """Ask every child to stop, then kill whatever is still alive after the grace period."""
        running = [child.proc for child in self.children if child.proc is not None]
        for proc in running:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.stop_grace_s
        for proc in running:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            kill_leftovers(proc.pid)

    def run(self, stopping: Callable[[], bool]) -> int:
        """Start every child and keep them running until `stopping()` is true (0) or one keeps crashing (1)."""
        exit_code = 0
        try:
            for child in self.children:
                self.spawn(child)
            while not stopping():
                reason = self.check()
                if reason:
                    say(reason, error=True)
                    exit_code = 1
                    break
                time.sleep(self.poll_s)
        finally:
            self.stop()
        return exit_code


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m webapp.run", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--no-migrate", action="store_true")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")

    if not args.no_migrate:
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, check=True)

    stopping = False

    def on_signal(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    supervisor = Supervisor(commands(args.host, args.port, args.web_workers))
    say(f"Lux is starting on http://{args.host}:{args.port}  (Ctrl-C stops it)")
    exit_code = supervisor.run(lambda: stopping)
    say("Lux stopped.")
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
