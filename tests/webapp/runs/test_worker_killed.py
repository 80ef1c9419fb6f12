"""THE SIGKILL TEST: a worker killed mid-run; a new worker finishes the run from its checkpoint."""

import time
import uuid

import pytest

from tests.factories import make_dataset, tiny_network, wait_for, wait_until_finished
from tests.workers import WorkerProcess
from webapp.runs.forms import LaunchForm
from webapp.runs.models import EpochMetric, RunStatus, TrainingRun
from webapp.runs.services.conf import has_checkpoint

pytestmark = [pytest.mark.slow, pytest.mark.smoke]
EPOCHS = 30  # long enough that the kill lands mid-run on a fast machine, short enough to finish after


def test_a_run_survives_its_worker_being_killed(owner, transactional_db, settings):
    # A queue of its own, so no other test worker can take the run; stale after 3 s, looked for every second.
    queue = f"gpu-killed-{uuid.uuid4().hex[:8]}"
    settings.LUX_RUN_QUEUE = queue
    env = {"LUX_RUN_QUEUE": queue, "LUX_RUN_STALE_AFTER_S": "3", "LUX_RUN_REAPER_INTERVAL_S": "1"}
    network = tiny_network(owner)
    form = LaunchForm(data={"dataset": make_dataset(owner).pk, "arch": f"net:{network.pk}", "epochs": EPOCHS,
                            "batch_size": 4}, user=owner)
    assert form.is_valid(), form.errors

    first = WorkerProcess(queues=(queue,), env=env)
    first.start()
    try:
        run = form.launch()
        # Checkpoints are written off the training thread: an epoch's row can land before its file does.
        wait_for(lambda: has_checkpoint(TrainingRun.objects.get(pk=run.pk)), timeout=90, interval=0.02,
                 what="a first checkpoint", log=first.log)
    finally:
        first.kill()  # SIGKILL, parent and pool child: no clean-up of any kind
    run.refresh_from_db()
    killed_at = EpochMetric.objects.filter(run=run).count()
    assert run.status == RunStatus.RUNNING and killed_at < EPOCHS, "the run ended before the kill; make it longer"

    second = WorkerProcess(queues=(queue,), env=env)
    second.start()
    try:
        run = wait_until_finished(run.pk, timeout=120, log=second.log)
    finally:
        second.stop()
    assert run.status == RunStatus.SUCCEEDED, (run.error, second.log()[-4000:])
    assert run.attempts == 2 and run.worker.startswith(second.hostname.split("@")[0])
    assert list(EpochMetric.objects.filter(run=run).values_list("epoch", flat=True)) == list(range(1, EPOCHS + 1))
    assert run.timings["resumed_from"]["epoch"] >= 1  # continued from a checkpoint, not from scratch
    assert any("interrupted" in w for w in run.warnings) and run.evaluations.filter(split="test").exists()


def test_a_worker_stopped_mid_run_checkpoints_and_requeues_it_at_once(owner, transactional_db, settings):
    queue = f"gpu-stopped-{uuid.uuid4().hex[:8]}"
    settings.LUX_RUN_QUEUE = queue
    network = tiny_network(owner)
    form = LaunchForm(data={"dataset": make_dataset(owner).pk, "arch": f"net:{network.pk}", "epochs": 400,
                            "batch_size": 4}, user=owner)
    assert form.is_valid(), form.errors
    worker = WorkerProcess(queues=(queue,), env={"LUX_RUN_QUEUE": queue})
    worker.start()
    try:
        run = form.launch()
        wait_for(lambda: EpochMetric.objects.filter(run=run).exists(), timeout=90, what="a first epoch",
                 log=worker.log)
        first_task = TrainingRun.objects.get(pk=run.pk).task_id
    finally:
        started = time.monotonic()
        worker.stop()  # SIGTERM, as a deploy or `docker compose stop` sends
    assert time.monotonic() - started < 20, "the worker waited for the run to end instead of stopping it"
    run.refresh_from_db()
    # Not left "running" for the reaper to find a minute later: interrupted and sent again, from its checkpoint.
    assert run.status == RunStatus.INTERRUPTED and run.task_id != first_task and has_checkpoint(run)
    assert any("its worker shut down" in w for w in run.warnings), (run.warnings, worker.log()[-3000:])
