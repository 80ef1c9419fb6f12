import json

import pytest

from webapp.core.models import Worker


@pytest.fixture
def staff_client(client, admin_user):
    client.force_login(admin_user)
    return client


def broker_down(client):
    """Return /healthz's answer while nothing listens where the broker should be."""
    from webapp.celery import app

    original = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    try:
        return client.get("/healthz")
    finally:
        app.conf.broker_url = original


@pytest.mark.django_db
def test_it_answers_json_without_signing_in(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"ok": True, "database": {"ok": True}, "broker": {"ok": True},
                               "workers": {"ok": False, "count": 0, "queues": []}}


@pytest.mark.django_db
def test_anonymous_callers_learn_no_hosts_versions_or_error_texts(client):
    Worker.objects.create(hostname="gpu@secret-box", queues="gpu", pid=1, device="cuda:0 H100")
    body = client.get("/healthz").content.decode()
    assert json.loads(body)["workers"] == {"ok": True, "count": 1, "queues": ["gpu"]}
    for secret in ("secret-box", "H100", "torch", "sqlite", "vendor", "transport"):
        assert secret not in body
    response = broker_down(client)
    assert response.status_code == 503
    assert response.json()["broker"] == {"ok": False}
    assert "127.0.0.1" not in response.content.decode()


@pytest.mark.django_db
def test_a_signed_in_member_who_is_not_staff_gets_the_status_only(owner_client):
    assert set(owner_client.get("/healthz").json()["database"]) == {"ok"}


@pytest.mark.django_db
def test_staff_get_the_details(staff_client):
    body = staff_client.get("/healthz").json()
    assert body["ok"] is True
    assert body["database"]["ok"] is True and body["database"]["vendor"] in ("sqlite", "postgresql")
    assert body["broker"]["ok"] is True
    assert body["torch"]["torch"].startswith("2.14.1")
    assert "cpu" in body["torch"]["devices"]


@pytest.mark.django_db
def test_it_reports_no_worker_when_none_beats(staff_client):
    assert staff_client.get("/healthz").json()["workers"] == {"ok": False, "count": 0, "queues": [], "workers": []}


@pytest.mark.django_db
def test_it_lists_workers_with_a_recent_heartbeat_only(staff_client):
    from django.utils import timezone

    Worker.objects.create(hostname="gpu@a", queues="gpu", pid=1, device="cpu")
    Worker.objects.create(hostname="old@b", queues="default", pid=2, device="cpu",
                          last_seen=timezone.now() - timezone.timedelta(minutes=5))
    workers = staff_client.get("/healthz").json()["workers"]
    assert workers["count"] == 1
    assert [w["hostname"] for w in workers["workers"]] == ["gpu@a"]
    assert workers["queues"] == ["gpu"]


@pytest.mark.django_db
def test_it_answers_503_when_the_broker_is_down(staff_client):
    response = broker_down(staff_client)
    assert response.status_code == 503
    assert response.json()["broker"]["ok"] is False
    assert "127.0.0.1" in response.json()["broker"]["error"]  # staff see why


@pytest.mark.django_db
def test_it_rejects_post(client):
    assert client.post("/healthz").status_code == 405
