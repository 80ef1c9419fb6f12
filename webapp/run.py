"""Start Lux on one machine: migrate, then the web server and one worker per queue, as children of this process.

Ctrl-C (SIGINT) or SIGTERM stops every child; if one child dies, the others are stopped too.
"""

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STOP_GRACE_S = 20


def commands(host: str, port: int, web_workers: int) -> dict[str, list[str]]:
    """Return the command line of each child, keyed by a short name."""
    py = sys.executable
    return {
        "web": [py, "-m", "gunicorn", "webapp.wsgi", "--bind", f"{host}:{port}", "--workers", str(web_workers),
                "--threads", "4", "--timeout", "300", "--access-logfile", "-"],
        # One task at a time on the gpu queue; ingest and checks on their own worker so they never wait behind training.
        "worker-gpu": [py, "-m", "celery", "-A", "webapp", "worker", "-Q", "gpu", "-c", "1", "-n", "gpu@%h",
                       "--loglevel", "INFO"],
        "worker-default": [py, "-m", "celery", "-A", "webapp", "worker", "-Q", "default", "-c", "2",
                           "-n", "default@%h", "--loglevel", "INFO"],
    }


def stop_all(children: dict[str, subprocess.Popen]) -> None:
    """Ask every child to stop, then kill whatever is still alive after the grace period."""
    for proc in children.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_S
    for proc in children.values():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


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

    # Children get their own process group, so Ctrl-C reaches them only through us, in order.
    children = {
        name: subprocess.Popen(cmd, cwd=ROOT, start_new_session=True)
        for name, cmd in commands(args.host, args.port, args.web_workers).items()
    }
    for name, proc in children.items():
        print(f"started {name} (pid {proc.pid})", flush=True)
    print(f"Lux is starting on http://{args.host}:{args.port}  (Ctrl-C stops it)", flush=True)
    exit_code = 0
    while not stopping:
        dead = [name for name, proc in children.items() if proc.poll() is not None]
        if dead:
            print(f"{', '.join(dead)} exited; stopping Lux", file=sys.stderr, flush=True)
            exit_code = 1
            break
        time.sleep(0.5)
    stop_all(children)
    print("Lux stopped.", flush=True)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
