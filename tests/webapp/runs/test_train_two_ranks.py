"""A run asking for 2 devices trains through the real Celery task as 2 gloo ranks under torchrun (CPU)."""

import time
import uuid
from pathlib import Path

import pytest

from tests.factories import make_dataset, tiny_network, wait_for, wait_until_finished
from tests.workers import WorkerProcess
from webapp.core.models import Worker
from webapp.runs.forms import LaunchForm
from webapp.runs.models import EpochMetric, RunStatus, TrainingRun
from webapp.runs.services.conf import has_checkpoint, run_dir
from webapp.runs.services.control import cancel_run, resume_run

pytestmark = [pytest.mark.slow]


def launch(owner, **data):
    form = LaunchForm(data=data, user=owner)
    assert form.is_valid(), form.errors
    return form.launch()


def epochs_of(run):
    return list(EpochMetric.objects.filter(run=run).order_by("epoch").values_list("epoch", flat=True))


def test_two_ranks_train_as_well_as_one_and_record_each_epoch_once(worker, owner):
    network, dataset = tiny_network(owner), make_dataset(owner)
    settings = {"dataset": dataset.pk, "arch": f"net:{network.pk}", "epochs": 3, "batch_size": 4, "lr": 0.05,
                "seed": 1, "device": "cpu"}
    one = wait_until_finished(launch(owner, **settings).pk, log=worker.log)
    two = wait_until_finished(launch(owner, **settings, gpus=2).pk, timeout=240, log=worker.log)
    assert two.status == RunStatus.SUCCEEDED, (two.error, two.traceback, worker.log()[-4000:])
    assert two.config["gpus"] == 2 and two.device.startswith("2 ranks on cpu")
    assert epochs_of(two) == [1, 2, 3] and two.progress["phase"] == "done"
    accuracy = {run.pk: run.evaluations.get(split="test").top1 for run in (one, two)}
    # The same band: plain colours, well learnt either way (two ranks take half the steps, with the same lr).
    assert accuracy[one.pk] >= 0.8 and abs(accuracy[one.pk] - accuracy[two.pk]) <= 0.15, accuracy
    assert two.artifacts.filter(kind="weights").exists() and has_checkpoint(two)
    # The worker's row comes back at its next heartbeat (every 10 s) when the test database was emptied since.
    row = wait_for(lambda: Worker.objects.filter(hostname=two.worker).first(), timeout=25,
                   what="the worker's heartbeat row", log=worker.log)
    assert row.devices == []  # this machine has no GPU, and says so


def test_cancel_stops_every_rank_and_resume_continues_on_two(worker, owner):
    network = tiny_network(owner)
    run = launch(owner, dataset=make_dataset(owner).pk, arch=f"net:{network.pk}", epochs=400, batch_size=4,
                 device="cpu", gpus=2)
    wait_for(lambda: EpochMetric.objects.filter(run=run).exists(), timeout=180, what="a first epoch", log=worker.log)
    asked = time.monotonic()
    cancel_run(run)
    run = wait_until_finished(run.pk, timeout=60, log=worker.log)
    assert run.status == RunStatus.CANCELLED and time.monotonic() - asked < 20
    assert has_checkpoint(run)
    done_before = epochs_of(run)
    assert done_before == list(range(1, len(done_before) + 1)) and len(done_before) < 400

    resume_run(run)
    wait_for(lambda: len(epochs_of(run)) >= len(done_before) + 1, timeout=180, what="epochs after the resume",
             log=worker.log)
    cancel_run(run)
    run = wait_until_finished(run.pk, timeout=60, log=worker.log)
    assert run.status == RunStatus.CANCELLED and run.attempts == 2
    recorded = epochs_of(run)
    assert recorded == list(range(1, len(recorded) + 1))  # every epoch once, none twice, none skipped
    assert not list((run_dir(run) / "ranks").glob("error-*.json"))


def rank_processes(job_dir) -> list[int]:
    """Return the pids of processes still running ranks of the job in `job_dir` (read from /proc)."""
    pids = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if b"training.ranks" in cmdline and str(job_dir).encode() in cmdline:
            pids.append(int(proc.name))
    return pids


def test_a_two_rank_run_survives_its_worker_being_killed(owner, transactional_db, settings):
    # A queue of its own, so no other test worker can take the run; stale after 3 s, looked for every second.
    queue = f"gpu-killed-{uuid.uuid4().hex[:8]}"
    settings.LUX_RUN_QUEUE = queue
    env = {"LUX_RUN_QUEUE": queue, "LUX_RUN_STALE_AFTER_S": "3", "LUX_RUN_REAPER_INTERVAL_S": "1"}
    epochs = 12
    network = tiny_network(owner)
    form = LaunchForm(data={"dataset": make_dataset(owner).pk, "arch": f"net:{network.pk}", "epochs": epochs,
                            "batch_size": 2, "device": "cpu", "gpus": 2}, user=owner)
    assert form.is_valid(), form.errors
    first = WorkerProcess(queues=(queue,), env=env)
    first.start()
    try:
        run = form.launch()
        # An epoch row first: a run dir left by an earlier test's run of the same id holds checkpoints already.
        wait_for(lambda: EpochMetric.objects.filter(run=run).exists()
                 and has_checkpoint(TrainingRun.objects.get(pk=run.pk)), timeout=180, interval=0.05,
                 what="a first checkpoint", log=first.log)
    finally:
        first.kill()  # SIGKILL, parent and pool child: no clean-up of any kind
    run.refresh_from_db()
    killed_at = len(epochs_of(run))
    assert run.status == RunStatus.RUNNING and killed_at < epochs, "the run ended before the kill; make it longer"
    # The ranks end with their worker instead of training on, unseen, beside the attempt that resumes.
    wait_for(lambda: not rank_processes(run_dir(run) / "ranks"), timeout=15, what="the orphaned ranks to end")

    second = WorkerProcess(queues=(queue,), env=env)
    second.start()
    try:
        run = wait_until_finished(run.pk, timeout=240, log=second.log)
    finally:
        second.stop()
    assert run.status == RunStatus.SUCCEEDED, (run.error, second.log()[-4000:])
    assert run.attempts == 2 and run.timings["resumed_from"]["epoch"] >= 1
    assert epochs_of(run) == list(range(1, epochs + 1))  # every epoch once
