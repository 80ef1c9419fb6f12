"""A run asks only for what an alive worker can train: a GPU some worker has, an image size a CPU can take."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import make_dataset, tiny_network
from webapp.core.models import Worker
from webapp.runs.services.fleet import CPU_MAX_IMAGE_SIZE

pytestmark = pytest.mark.django_db


@pytest.fixture
def launch(owner, owner_client, media):
    """Return post(**settings) -> the API's answer to launching a tiny network on a small dataset."""
    dataset = make_dataset(owner, per_split={"train": 1, "val": 1, "test": 1})
    network = tiny_network(owner)

    def post(**settings):
        body = {"dataset": dataset.pk, "arch": f"net:{network.pk}", "epochs": 1, "batch_size": 3, **settings}
        return owner_client.post("/api/runs/", body, content_type="application/json")
    return post


def gpu_worker(**fields):
    return Worker.objects.create(**{"hostname": "gpu@box", "queues": "default,gpu", "pid": 1,
                                    "device": "cuda (NVIDIA H200)", **fields})


def test_a_large_image_size_trains_where_a_worker_has_a_gpu(launch):
    gpu_worker()
    assert launch(image_size=2048).status_code == 201


def test_a_large_image_size_on_the_cpu_is_refused_even_beside_a_gpu(launch):
    gpu_worker()
    response = launch(image_size=2048, device="cpu")
    assert response.status_code == 400
    assert f"at most {CPU_MAX_IMAGE_SIZE} px" in response.json()["image_size"][0]
    assert launch(image_size=CPU_MAX_IMAGE_SIZE, device="cpu").status_code == 201


def test_a_gpu_worker_that_stopped_beating_does_not_count(launch):
    gpu_worker(last_seen=timezone.now() - timedelta(minutes=5))
    response = launch(device="cuda")
    assert response.status_code == 400 and "No running worker has a GPU" in response.json()["device"][0]


def test_a_gpu_worker_of_another_queue_does_not_train_runs(launch):
    gpu_worker(queues="interactive")
    assert launch(device="cuda").status_code == 400
