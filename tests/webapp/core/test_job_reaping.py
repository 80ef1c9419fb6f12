"""Drills for every job kind: a job whose worker died is requeued, then failed with a reason; a late message
of an earlier attempt does nothing; a job whose message never reached the broker is sent again or failed.

Each registered kind (webapp.core.reaping.kinds()) must have a row builder here: a new kind without one fails
test_every_job_kind_is_drilled, so no kind of job can again stay "running" forever.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import make_run, make_version, saved_run
from webapp.classify.models import ClassificationJob, Explanation, ExplanationStatus, JobStatus
from webapp.core import reaping
from webapp.datasets.models import Import, ImportKind, ImportStatus
from webapp.runs.models import Evaluation, EvaluationStatus, ModelArtifact, RunStatus, TrainingRun

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]

OLD = "old-token"
GONE = "gone@dead-box"


def _silent(**extra) -> dict:
    """Return the columns of a row a worker held and then stopped beating for an hour."""
    an_hour_ago = timezone.now() - timedelta(hours=1)
    return {"task_id": OLD, "worker": GONE, "heartbeat_at": an_hour_ago, "attempts": 1, "queued_at": an_hour_ago,
            "sent_at": an_hour_ago, **extra}


def _run(owner) -> int:
    columns = _silent()
    del columns["heartbeat_at"]
    return make_run(owner, status=RunStatus.RUNNING, silent_for_s=3600, **columns).pk


def _evaluation(owner) -> int:
    run = make_run(owner)
    return Evaluation.objects.create(run=run, version=run.version, split="test", class_names=run.version.class_names,
                                     status=EvaluationStatus.RUNNING, **_silent()).pk


def _job(owner) -> int:
    return ClassificationJob.objects.create(owner=owner, model_ref="run:1", model_label="m", source="upload",
                                            status=JobStatus.RUNNING, total=1, class_names=["a", "b"],
                                            **_silent()).pk


def _explanation(owner) -> int:
    return Explanation.objects.create(owner=owner, model_ref="run:1", model_label="m", image="x.png",
                                      status=ExplanationStatus.RUNNING, **_silent()).pk


def _export(owner) -> int:
    run = saved_run(owner, make_version(owner, name="Exported"))
    beat = (timezone.now() - timedelta(hours=1)).isoformat()
    details = {"state": "running", "format": "torchscript", "task_id": OLD, "worker": GONE, "attempts": 1,
               "heartbeat_at": beat, "queued_at": beat, "sent_at": beat}
    return ModelArtifact.objects.create(run=run, kind=ModelArtifact.Kind.TORCHSCRIPT, path="", created_by=owner,
                                        details=details).pk


def _import(owner) -> int:
    dataset = make_version(owner, name="Imported").dataset
    return Import.objects.create(dataset=dataset, created_by=owner, kind=ImportKind.ARCHIVE,
                                 status=ImportStatus.RUNNING, **_silent()).pk


def _download(owner) -> int:
    from webapp.weights.models import DownloadStatus, WeightsFileRecord

    return WeightsFileRecord.objects.create(filename="resnet18-f37072fd.pth", arch="resnet18", requested_by=owner,
                                            status=DownloadStatus.RUNNING, **_silent()).pk


def _prelabel(owner) -> int:
    from webapp.labelling.models import PrelabelJob, PrelabelStatus

    dataset = make_version(owner, name="Pre-labelled").dataset
    return PrelabelJob.objects.create(dataset=dataset, created_by=owner, model_ref="run:1", model_label="m",
                                      status=PrelabelStatus.RUNNING, total=1, **_silent()).pk


def _data_check(owner) -> int:
    from webapp.datachecks.models import CheckStatus, DataCheck

    dataset = make_version(owner, name="Checked").dataset
    return DataCheck.objects.create(dataset=dataset, created_by=owner, status=CheckStatus.RUNNING, total=1,
                                    **_silent()).pk


BUILDERS = {"runs": _run, "evaluations": _evaluation, "classify.jobs": _job, "classify.explanations": _explanation,
            "classify.exports": _export, "datasets.imports": _import, "weights.downloads": _download,
            "labelling.prelabel": _prelabel, "datachecks.checks": _data_check}
# Kinds that hold no worker of their own and only sweep at each look (a search's members are runs).
SWEEP_ONLY = {"searches.tick"}


def kind(name: str) -> reaping.JobKind:
    return next(k for k in reaping.kinds() if k.name == name)


def state(name: str, pk: int) -> tuple[str, str, int]:
    """Return (status, token, attempts) of a kind's row."""
    if name == "classify.exports":
        details = ModelArtifact.objects.get(pk=pk).details
        return details["state"], details.get("task_id", ""), int(details.get("attempts", 0))
    row = kind(name).rows().filter(pk=pk).values("status", "task_id", "attempts").get()
    return row["status"], row["task_id"], row["attempts"]


def error_of(name: str, pk: int) -> str:
    if name == "classify.exports":
        return ModelArtifact.objects.get(pk=pk).details.get("error", "")
    return kind(name).rows().filter(pk=pk).values_list("error", flat=True).get()


def claim(name: str, pk: int, token: str):
    """Claim row `pk` as a worker holding a message with task id `token` would; return what it got (None: nothing)."""
    if name == "runs":
        from webapp.runs.services import lifecycle

        return lifecycle.claim(pk, worker="new@box", device="cpu", token=token)
    if name == "evaluations":
        from webapp.runs.services import lifecycle

        return lifecycle.evaluation_transition(pk, "claim", only_if={"task_id__in": (token, "")},
                                               worker="new@box", attempts=1) or None
    return kind(name).claim(pk, token=token, worker="new@box")


def test_every_job_kind_is_drilled():
    names = {k.name for k in reaping.kinds()}
    assert {"runs", "evaluations", "classify.jobs", "classify.explanations", "classify.exports",
            "datasets.imports"} <= names
    assert names - SWEEP_ONLY <= set(BUILDERS), "add a row builder for the new job kind"
    for name in SWEEP_ONLY & names:
        assert list(kind(name).stale(timezone.now())) == [] and list(kind(name).unsent(timezone.now())) == []


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_a_job_whose_worker_died_is_requeued_and_its_old_message_does_nothing(name, owner,
                                                                              django_capture_on_commit_callbacks):
    pk = BUILDERS[name](owner)
    with django_capture_on_commit_callbacks() as sent:  # held, not sent: no stray message for later tests
        outcome = reaping.reap_all()
    assert outcome[name]["requeued"] == [pk] and len(sent) == 1
    status, token, attempts = state(name, pk)
    assert status in ("queued", "interrupted") and token not in ("", OLD) and attempts == 1

    # The dead worker's message comes back late (Redis redelivers unacknowledged ones): it claims nothing.
    assert claim(name, pk, OLD) is None
    assert state(name, pk) == (status, token, attempts)
    # The reaper's new message is the one that runs it.
    assert claim(name, pk, token) is not None
    assert state(name, pk)[0] == "running"


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_a_job_whose_worker_keeps_dying_is_failed_with_the_reason(name, owner, settings):
    settings.LUX_JOB_MAX_ATTEMPTS = 1
    settings.LUX_RUN_MAX_ATTEMPTS = 1
    pk = BUILDERS[name](owner)
    outcome = reaping.reap_all()
    assert outcome[name]["failed"] == [pk]
    assert state(name, pk)[0] == "failed"
    reason = error_of(name, pk)
    assert "Gave up after 1 attempt" in reason and GONE in reason, reason
    assert not reaping.reap_all().get(name)  # once is enough


def test_cancelling_a_job_no_worker_holds_ends_it_at_once(owner, client):
    job = ClassificationJob.objects.get(pk=_job(owner))
    client.force_login(owner)
    response = client.post(f"/api/classify/jobs/{job.pk}/cancel/")
    assert response.status_code == 200, response.content
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    assert client.delete(f"/api/classify/jobs/{job.pk}/").status_code == 204  # it can go now


@pytest.fixture
def drill_queue(settings):
    """Send runs to a queue no worker serves, and empty it afterwards: the drill's messages reach no one."""
    from webapp.celery import app

    settings.LUX_RUN_QUEUE = "drill-nobody-serves"
    yield settings.LUX_RUN_QUEUE
    with app.connection_for_write() as connection:
        connection.default_channel.queue_purge(settings.LUX_RUN_QUEUE)


@pytest.fixture
def broker_down():
    """Point the app at a broker address where nothing listens; yield what brings the real one back."""
    from webapp.celery import app

    original = app.conf.broker_url, app.conf.broker_transport_options

    def switch(url, options):
        app.conf.broker_url, app.conf.broker_transport_options = url, options
        # The next send takes its producer from the pool of the address now set (kombu keeps one per address).
        app._pool = app.amqp._producer_pool = None

    switch("redis://127.0.0.1:1/0", {})  # nothing listens on port 1
    yield lambda: switch(*original)
    switch(*original)


def test_a_run_whose_message_never_reached_the_broker_is_sent_again_or_failed(owner, drill_queue, settings):
    settings.LUX_JOB_RESEND_AFTER_S = 30
    settings.LUX_JOB_SEND_GIVE_UP_S = 3600
    now = timezone.now()
    unsent = make_run(owner, status=RunStatus.QUEUED, task_id="t-1", queue=drill_queue,
                      queued_at=now - timedelta(minutes=5))
    hopeless = make_run(owner, status=RunStatus.QUEUED, task_id="t-2", queue=drill_queue,
                        queued_at=now - timedelta(hours=2))
    fresh = make_run(owner, status=RunStatus.QUEUED, task_id="t-3", queue=drill_queue, queued_at=now)

    outcome = reaping.reap_all()["runs"]
    assert outcome == {"resent": [unsent.pk], "unsent": [hopeless.pk]}
    assert TrainingRun.objects.get(pk=unsent.pk).sent_at is not None  # the broker took it this time
    hopeless.refresh_from_db()
    assert hopeless.status == RunStatus.FAILED and "never reached a worker" in hopeless.error
    assert TrainingRun.objects.get(pk=fresh.pk).sent_at is None  # its own send may still be on the way


@pytest.mark.django_db(transaction=True)
def test_a_launch_while_the_broker_is_down_answers_503_and_is_sent_once_it_is_back(owner, client, drill_queue,
                                                                                    broker_down, settings):
    settings.LUX_JOB_RESEND_AFTER_S = 30
    version = make_version(owner, name="Outage")
    client.force_login(owner)
    response = client.post("/api/runs/", {"version": version.pk, "arch": "custom", "epochs": 1},
                           content_type="application/json")
    assert response.status_code == 503, response.content
    assert "queue is unreachable" in response.json()["detail"] and response["Retry-After"]
    run = TrainingRun.objects.get(version=version)  # saved, not lost
    assert run.status == RunStatus.QUEUED and run.sent_at is None

    page = client.post("/runs/new/", {"version": version.pk, "arch": "custom", "epochs": 1})
    assert page.status_code == 302 and page["Location"].startswith("/runs/")  # to the saved run's page
    assert "queue is unreachable" in client.get(page["Location"]).content.decode()

    broker_down()  # the broker is back: the reaper's next look sends both
    unsent = set(TrainingRun.objects.filter(version=version, sent_at__isnull=True).values_list("pk", flat=True))
    assert len(unsent) == 2
    outcome = reaping.reap_all(now=timezone.now() + timedelta(seconds=settings.LUX_JOB_RESEND_AFTER_S + 1))
    assert set(outcome["runs"]["resent"]) == unsent
    assert not TrainingRun.objects.filter(version=version, sent_at__isnull=True).exists()
