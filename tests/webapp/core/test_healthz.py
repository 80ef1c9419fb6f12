import pytest

from webapp.core.models import Worker


@pytest.mark.django_db
def test_it_answers_json_without_signing_in(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True
    assert body["database"]["ok"] is True
    assert body["broker"]["ok"] is True
    assert body["torch"]["torch"].startswith("2.14.1")
    assert "cpu" in body["torch"]["devices"]


@pytest.mark.django_db
def test_it_reports_no_worker_when_none_beats(client):
    assert client.get("/healthz").json()["workers"] == {"ok": False, "count": 0, "queues": [], "workers": []}


@pytest.mark.django_db
def test_it_lists_workers_with_a_recent_heartbeat_only(client):
    from django.utils import timezone

    Worker.objects.create(hostname="gpu@a", queues="gpu", pid=1, device="cpu")
    Worker.objects.create(hostname="old@b", queues="default", pid=2, device="cpu",
                          last_seen=timezone.now() - timezone.timedelta(minutes=5))
    workers = client.get("/healthz").json()["workers"]
    assert workers["count"] == 1
    assert [w["hostname"] for w in workers["workers"]] == ["gpu@a"]
    assert workers["queues"] == ["gpu"]


@pytest.mark.django_db
def test_it_answers_503_when_the_broker_is_down(client, settings):
    from webapp.celery import app

    original = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    try:
        response = client.get("/healthz")
    finally:
        app.conf.broker_url = original
    assert response.status_code == 503
    assert response.json()["broker"]["ok"] is False


@pytest.mark.django_db
def test_it_rejects_post(client):
    assert client.post("/healthz").status_code == 405
