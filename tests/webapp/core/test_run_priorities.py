"""`make run` gives the CPU to what a person waits on: training yields to pages and quick tests."""

import subprocess

from webapp.run import commands


def test_training_runs_at_a_lower_cpu_priority_than_pages_and_quick_tests():
    children = commands("127.0.0.1", 8000, 2)
    assert children["worker-gpu"][:3] == ["nice", "-n", "10"]
    for name in ("web", "worker-interactive", "worker-default"):
        assert "nice" not in children[name], name
    # The prefix is a real program that runs the command at that priority.
    niceness = subprocess.run(["nice", "-n", "10", "nice"], capture_output=True, text=True, check=True).stdout
    base = subprocess.run(["nice"], capture_output=True, text=True, check=True).stdout
    assert int(niceness) == min(int(base) + 10, 19)


def test_the_interactive_worker_looks_for_tasks_more_often():
    interactive = commands("127.0.0.1", 8000, 2)["worker-interactive"]
    assert interactive[:2] == ["env", "LUX_BROKER_POLL_MS=10"]
    assert "-Q" in interactive and interactive[interactive.index("-Q") + 1] == "interactive"
