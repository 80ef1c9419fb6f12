"""A run may ask for several GPUs of one worker: kept in its config, refused when no alive worker has them."""

import pytest

from tests.factories import make_dataset, make_run, tiny_network
from webapp.core.models import Worker
from webapp.runs.models import RunStatus, TrainingRun
from webapp.runs.services.recipes import train_settings
from webapp.runs.worker import missing_gpus

pytestmark = pytest.mark.django_db
H200 = {"name": "NVIDIA H200", "memory_gib": 139.8}


@pytest.fixture
def launch(owner, owner_client, media):
    """Return post(**settings) -> the API's answer to launching a tiny network on a small dataset."""
    dataset = make_dataset(owner, per_split={"train": 1, "val": 1, "test": 1})
    network = tiny_network(owner)

    def post(**settings):
        body = {"dataset": dataset.pk, "arch": f"net:{network.pk}", "epochs": 1, "batch_size": 3, **settings}
        return owner_client.post("/api/runs/", body, content_type="application/json")
    return post


def worker_with(gpus: int, **fields):
    return Worker.objects.create(**{"hostname": f"train@box{gpus}", "queues": "gpu", "pid": 1,
                                    "device": "cuda (NVIDIA H200)" if gpus else "cpu",
                                    "devices": [{"index": i, **H200} for i in range(gpus)], **fields})


def test_a_run_on_one_device_keeps_its_config_as_before(launch):
    response = launch()
    assert response.status_code == 201
    assert "gpus" not in TrainingRun.objects.get(pk=response.json()["id"]).config


def test_a_run_asking_for_four_gpus_launches_where_a_worker_has_four(launch):
    worker_with(1)
    worker_with(4)
    response = launch(gpus=4, device="cuda")
    assert response.status_code == 201
    run = TrainingRun.objects.get(pk=response.json()["id"])
    assert run.config["gpus"] == 4 and "gpus" not in train_settings(run.config)  # not a TrainConfig setting


def test_more_gpus_than_the_biggest_worker_has_is_refused_with_the_reason(launch):
    worker_with(2)
    response = launch(gpus=4, device="cuda")
    assert response.status_code == 400
    assert response.json()["gpus"] == ["This run asks for 4 GPUs but the biggest running worker has 2, and one "
                                       "run trains on one machine: ask for at most 2, choose the CPU, or start a "
                                       "worker on a machine with 4 GPUs."]
    assert not TrainingRun.objects.exists()


def test_gpus_without_any_gpu_worker_are_refused_unless_the_device_is_the_cpu(launch):
    worker_with(0)
    response = launch(gpus=2)
    assert response.status_code == 400 and "no running worker has a GPU" in response.json()["gpus"][0]
    assert launch(gpus=2, device="cpu").status_code == 201  # two processes sharing the CPU (gloo)


@pytest.mark.parametrize("gpus", [0, -1, 65, "two", 2.5])
def test_a_bad_gpu_count_is_a_400(launch, gpus):
    response = launch(gpus=gpus, device="cpu")
    assert response.status_code == 400 and "gpus" in response.json()


def test_a_worker_with_too_few_gpus_leaves_the_run_in_the_queue(owner, media):
    def run_asking(gpus, device):
        run = make_run(owner, status=RunStatus.QUEUED, config={"device": device})
        run.config["gpus"] = gpus
        run.save(update_fields=["config"])
        return run.pk

    # This machine has no GPU: a run on 2 of them waits for a worker that has them; on the CPU it runs here.
    assert missing_gpus(run_asking(2, "cuda")).endswith("asks for 2 GPUs and this worker has 0")
    assert missing_gpus(run_asking(2, "cpu")) is None
    assert missing_gpus(run_asking(1, "cuda")) is None
