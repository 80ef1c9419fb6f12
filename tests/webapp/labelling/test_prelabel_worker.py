"""A pre-label job run by the real Celery worker on the gpu queue, started from the API."""

import pytest

from tests.factories import COLOURS, noisy_square, png, saved_run, wait_for

pytestmark = pytest.mark.slow

UNLABELLED = 5


def test_the_worker_prelabels_every_unlabelled_image_with_progress(api_client, owner, worker):
    import numpy as np

    from tests.factories import make_dataset
    from webapp.datasets.services.store import add_image
    from webapp.datasets.services.versions import freeze_version
    from webapp.labelling.models import LabelEvent, PrelabelJob, Suggestion

    dataset = make_dataset(owner, per_split={"train": 1})
    rng = np.random.default_rng(3)
    for n in range(UNLABELLED):
        assert add_image(dataset, png(noisy_square(list(COLOURS.values())[n % 3], size=16, rng=rng)),
                         name=f"new-{n}.png", label=None).accepted
    run = saved_run(owner, freeze_version(dataset, user=owner))
    api_client.force_login(owner)
    made = api_client.post("/api/labelling/prelabel-jobs/", {"dataset": dataset.pk, "model": f"run:{run.pk}"},
                           format="json")
    assert made.status_code == 201, made.json()
    job = wait_for(lambda: PrelabelJob.objects.filter(pk=made.json()["id"], status__in=("succeeded", "failed",
                                                                                        "cancelled")).first(),
                   timeout=90, what="the pre-label job to finish", log=worker.log)
    assert job.status == "succeeded", job.error
    assert (job.done, job.total, job.errors, job.attempts) == (UNLABELLED, UNLABELLED, 0, 1)
    assert job.progress["eta_s"] == 0 and job.worker and job.heartbeat_at is not None
    rows = Suggestion.objects.filter(job=job)
    assert rows.count() == UNLABELLED and set(rows.values_list("label_name", flat=True)) <= {"red", "green", "blue"}
    assert not LabelEvent.objects.exists() and dataset.images.filter(label__isnull=True).count() == UNLABELLED
    status = api_client.get(f"/api/labelling/prelabel-jobs/{job.pk}/").json()
    assert (status["status"], status["done"]) == ("succeeded", UNLABELLED)
