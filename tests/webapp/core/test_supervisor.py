"""`make run` restarts a child that dies, backing off, and stops everything only when one keeps crashing."""

import os
import re
import sys
import time

from webapp.run import Supervisor

CRASH = [sys.executable, "-c", "import sys; sys.exit(3)"]
STEADY = [sys.executable, "-c", "import time; time.sleep(120)"]
FAST = {"backoff_s": 0.05, "poll_s": 0.02, "stop_grace_s": 5}


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split(")")[-1].split()[0] != "Z"


def test_it_stops_everything_when_a_child_keeps_crashing(capsys):
    supervisor = Supervisor({"steady": STEADY, "crasher": CRASH}, **FAST)
    started = time.monotonic()
    assert supervisor.run(lambda: time.monotonic() - started > 30) == 1
    assert time.monotonic() - started < 20
    out, err = capsys.readouterr()
    delays = re.findall(r"crasher exited with code 3; restarting in (\S+) s \(restart (\d+)\)", err)
    assert delays == [("0.05", "1"), ("0.1", "2"), ("0.2", "3"), ("0.4", "4")]
    assert "crasher exited with code 3: 5 crashes in a row, each within 60 s of the last; stopping Lux" in err
    steady_pid = int(re.search(r"started steady \(pid (\d+)\)", out)[1])
    assert not alive(steady_pid)
    assert "steady exited" not in err


def test_it_restarts_a_child_killed_from_outside_and_keeps_the_others(capsys):
    supervisor = Supervisor({"one": STEADY, "two": STEADY}, **FAST)
    log = {"out": "", "err": ""}

    def stopping():
        captured = capsys.readouterr()
        log["out"] += captured.out
        log["err"] += captured.err
        if "restarted two" in log["out"]:
            return True
        pid = re.search(r"^started two \(pid (\d+)\)", log["out"], re.M)
        if pid and alive(int(pid[1])):
            os.kill(int(pid[1]), 9)
        return False

    assert supervisor.run(stopping) == 0
    pids = {name: int(pid) for name, pid in re.findall(r"started (\w+) \(pid (\d+)\)", log["out"])}
    first_two = int(re.search(r"^started two \(pid (\d+)\)", log["out"], re.M)[1])
    assert "two exited with code -9; restarting in 0.05 s (restart 1)" in log["err"]
    assert pids["two"] != first_two
    assert "one exited" not in log["err"]
    assert not alive(pids["one"]) and not alive(pids["two"])


def test_a_crash_long_after_the_last_starts_the_back_off_afresh(capsys):
    late_crash = [sys.executable, "-c", "import sys, time; time.sleep(0.3); sys.exit(1)"]
    supervisor = Supervisor({"flaky": late_crash}, crash_window_s=0.2, **FAST)
    started = time.monotonic()
    assert supervisor.run(lambda: time.monotonic() - started > 4) == 0
    _, err = capsys.readouterr()
    delays = re.findall(r"flaky exited with code 1; restarting in (\S+) s", err)
    assert len(delays) >= 5
    assert set(delays) == {"0.05"}
    assert "stopping Lux" not in err
