"""Fixtures every test may use: named users, signed-in clients, and a real Celery worker."""

import os

import pytest

# Playwright's sync API runs an event loop in the test thread; Django's ORM must still be usable there.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
# Tests train tiny models, often beside a worker process on a 2-core machine: one thread each avoids
# oversubscription (measured 13x faster for the tiny-model tests under load). Workers inherit it.
os.environ.setdefault("OMP_NUM_THREADS", "1")

PASSWORD = "a-long-test-passphrase-42"


@pytest.fixture
def owner(django_user_model):
    """Return the user who owns things in a test."""
    from django.contrib.auth.models import Group

    user = django_user_model.objects.create_user("olive", "olive@example.org", PASSWORD)
    user.groups.add(Group.objects.get_or_create(name="lab")[0])
    return user


@pytest.fixture
def teammate(django_user_model, owner):
    """Return a user in the owner's team, who may see the owner's things."""
    user = django_user_model.objects.create_user("theo", "theo@example.org", PASSWORD)
    user.groups.add(*owner.groups.all())
    return user


@pytest.fixture
def outsider(django_user_model):
    """Return a user in no team of the owner's, who must never see the owner's things."""
    return django_user_model.objects.create_user("oscar", "oscar@example.org", PASSWORD)


@pytest.fixture
def admin_user(django_user_model):
    return django_user_model.objects.create_superuser("ada", "ada@example.org", PASSWORD)


def signed_in(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def owner_client(client, owner):
    return signed_in(client, owner)


@pytest.fixture
def outsider_client(client, outsider):
    return signed_in(client, outsider)


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker):
    """Start a real Celery worker on every queue (default, gpu, interactive) against the test database, once.

    Tests that use it need `transactional_db`: the worker only sees committed rows.
    """
    # Imported here, not at the top: the engine's tests (and bench/gpu_check.sh's CUDA run on a GPU machine that
    # has PyTorch but not Django) load this file without needing the web app.
    from tests.workers import WorkerProcess, purge_broker

    purge_broker()
    worker = WorkerProcess()
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()


@pytest.fixture
def worker(celery_worker_process, transactional_db):
    """Return the running worker, with the test's rows committed where it can see them."""
    return celery_worker_process
