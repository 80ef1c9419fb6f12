"""A worker reports its GPUs in its heartbeat; the dashboard and /healthz (staff) show them."""

import pytest

from webapp.core import heartbeat
from webapp.core.models import Worker

pytestmark = pytest.mark.django_db
H200 = {"name": "NVIDIA H200", "memory_gib": 139.8}


def worker(hostname: str, gpus: int) -> Worker:
    return Worker.objects.create(hostname=hostname, queues="gpu", pid=1,
                                 device="cuda (NVIDIA H200)" if gpus else "cpu",
                                 devices=[{"index": i, **H200} for i in range(gpus)])


def test_a_worker_without_cuda_reports_no_gpu_and_says_cpu_only():
    assert heartbeat.list_devices() == []  # this machine has no CUDA (the GPU check script covers the other side)
    assert worker("train@cpu-box", 0).devices_label == "CPU only"


def test_the_dashboard_shows_each_workers_gpus(owner_client):
    worker("train@big", 2)
    worker("train@small", 0)
    page = owner_client.get("/").content.decode()
    assert "2 × NVIDIA H200 (139.8 GiB)" in page and "CPU only" in page


def test_staff_health_details_list_each_workers_gpus(client, admin_user):
    client.force_login(admin_user)
    worker("train@big", 1)
    workers = client.get("/healthz").json()["workers"]["workers"]
    assert workers[0]["hostname"] == "train@big" and workers[0]["devices"] == [{"index": 0, **H200}]
