"""Quick tests on the interactive queue: answered while a run trains, and handed back as a status URL when slow."""

import os
import signal
import time
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.factories import FEW, colour_image, make_dataset, make_version, png, saved_run, tiny_network, wait_for
from tests.workers import WorkerProcess
from webapp.celery import INTERACTIVE_QUEUE
from webapp.classify.models import Explanation, ExplanationStatus
from webapp.core.models import Worker
from webapp.runs.forms import LaunchForm
from webapp.runs.models import EpochMetric, RunStatus

pytestmark = [pytest.mark.slow]


def quick(client, run, colour="red"):
    image = SimpleUploadedFile(f"{colour}.png", png(colour_image(colour)))
    return client.post("/classify/quick/", {"model": f"run:{run.pk}", "images": [image]},
                       HTTP_ACCEPT="application/json")


def started_together(*workers: WorkerProcess) -> None:
    """Start workers side by side (each imports torch: slow on a small machine), then wait for them all."""
    for worker in workers:
        worker.start(wait=False)
    for worker in workers:
        worker.wait_ready()


def test_quick_tests_and_explanations_answer_while_a_run_trains(owner, owner_client, transactional_db, settings):
    # The run goes to a gpu queue of its own, so only this test's gpu worker trains it, and trains for long.
    queue = f"gpu-busy-{uuid.uuid4().hex[:8]}"
    settings.LUX_RUN_QUEUE = queue
    form = LaunchForm(data={"dataset": make_dataset(owner).pk, "arch": f"net:{tiny_network(owner).pk}",
                            "epochs": 400, "batch_size": 4}, user=owner)
    assert form.is_valid(), form.errors
    model = saved_run(owner, make_version(owner, name="Colours", per_split=FEW))
    gpu = WorkerProcess(queues=(queue,), env={"LUX_RUN_QUEUE": queue})
    interactive = WorkerProcess(queues=(INTERACTIVE_QUEUE,))
    started_together(gpu, interactive)
    try:
        run = form.launch()
        wait_for(lambda: EpochMetric.objects.filter(run=run).exists(), timeout=90, what="training", log=gpu.log)
        answers, seconds = [], []
        for colour in ("red", "green", "blue", "red", "green", "blue"):
            started = time.monotonic()
            answers.append(quick(owner_client, model, colour))
            seconds.append(time.monotonic() - started)
        explained = owner_client.post("/classify/explain/", {
            "model": f"run:{model.pk}", "image": SimpleUploadedFile("leaf.png", png(colour_image("green", size=40)))})
        # Training went on beside them: another epoch lands while the run is still running.
        before = EpochMetric.objects.filter(run=run).count()
        wait_for(lambda: EpochMetric.objects.filter(run=run).count() > before, timeout=60, what="another epoch",
                 log=gpu.log)
        run.refresh_from_db()
    finally:
        gpu.stop()
        interactive.stop()
    # Every quick test answered within the wait (200, not 202 or 503) while the gpu worker was training.
    assert [a.status_code for a in answers] == [200] * 6, [a.content[:300] for a in answers]
    assert run.status == RunStatus.RUNNING
    assert all(a.json()["images"][0]["top"] for a in answers)
    assert sorted(seconds)[len(seconds) // 2] < 2.0, seconds  # the median; the first loads the model
    # So did the explanation: the page was redirected to a finished one.
    assert explained.status_code == 302
    assert Explanation.objects.get().status == ExplanationStatus.SUCCEEDED


@pytest.fixture
def paused_worker(transactional_db, monkeypatch):
    """A real interactive worker on a queue of its own; `pause()` and `resume()` it (SIGSTOP, SIGCONT)."""
    from webapp.classify.services import quick

    queue = f"interactive-{uuid.uuid4().hex[:8]}"  # no other test worker may answer instead
    monkeypatch.setattr(quick, "QUICK_QUEUE", queue)
    worker = WorkerProcess(queues=(queue,))
    worker.start()
    wait_for(lambda: Worker.objects.alive().filter(queues=queue).exists(), timeout=20, what="its heartbeat",
             log=worker.log)
    worker.pause = lambda: os.killpg(worker.proc.pid, signal.SIGSTOP)
    worker.resume = lambda: os.killpg(worker.proc.pid, signal.SIGCONT)
    try:
        yield worker
    finally:
        worker.resume()
        worker.stop()


def test_a_slow_answer_comes_back_as_a_status_url_only_its_requester_may_read(
        owner, outsider, owner_client, paused_worker, settings):
    from django.test import Client

    outsider_client = Client()
    outsider_client.force_login(outsider)
    settings.LUX_QUICK_WAIT_SECONDS = 0.5
    model = saved_run(owner, make_version(owner, name="Colours", per_split=FEW))
    paused_worker.pause()  # busy, as far as anyone can tell: alive (its heartbeat is fresh) but not answering
    started = time.monotonic()
    response = quick(owner_client, model)
    assert response.status_code == 202, response.content
    assert time.monotonic() - started < 3  # the web thread is not held
    status_url = response.json()["status_url"]
    assert status_url.startswith("/classify/quick/")
    assert owner_client.get(status_url, HTTP_ACCEPT="application/json").status_code == 202
    assert outsider_client.get(status_url, HTTP_ACCEPT="application/json").status_code == 404
    paused_worker.resume()
    answer = wait_for(lambda: (r := owner_client.get(status_url, HTTP_ACCEPT="application/json")).status_code != 202
                      and r, timeout=60, interval=0.1, what="the answer", log=paused_worker.log)
    assert answer.status_code == 200, answer.content
    assert {t["name"] for t in answer.json()["images"][0]["top"]} == {"red", "green", "blue"}
    assert answer.json()["seconds"]["round_trip"] >= 0.5
    # Given once: the answer (it holds the image preview) is not kept.
    assert owner_client.get(status_url, HTTP_ACCEPT="application/json").status_code == 404


def test_the_api_hands_back_a_slow_prediction_by_its_status_url(
        owner, outsider, api_client, paused_worker, settings):
    settings.LUX_QUICK_WAIT_SECONDS = 0.5
    model = saved_run(owner, make_version(owner, name="Colours", per_split=FEW))
    api_client.force_authenticate(owner)
    paused_worker.pause()
    response = api_client.post("/api/classify/predict/", {
        "model": f"run:{model.pk}", "image": SimpleUploadedFile("g.png", png(colour_image("green")))},
        format="multipart")
    assert response.status_code == 202, response.content
    status_url = response.json()["status_url"]
    assert response["Location"] == status_url and status_url.startswith("/api/classify/predict/")
    api_client.force_authenticate(outsider)
    assert api_client.get(status_url).status_code == 404
    api_client.force_authenticate(owner)
    paused_worker.resume()
    answer = wait_for(lambda: (r := api_client.get(status_url)).status_code != 202 and r, timeout=60,
                      interval=0.1, what="the answer", log=paused_worker.log)
    assert answer.status_code == 200, answer.content
    assert answer.json()["filename"] == "g.png" and len(answer.json()["top_k"]) == 3
