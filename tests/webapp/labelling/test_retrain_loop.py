"""Retrain from the last model after enough new labels, then pre-label again with the new model."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.fixture
def pets(owner, media):
    """Return a dataset that can train (train, val and test images per class) with 6 unlabelled images."""
    from tests.factories import colour_image, make_dataset, png
    from webapp.datasets.services.store import add_image

    dataset = make_dataset(owner, per_split={"train": 2, "val": 1, "test": 1})
    for n in range(6):
        assert add_image(dataset, png(colour_image("red", seed=100 + n)), name=f"new-{n}.png", label=None).accepted
    return dataset


@pytest.fixture
def suggesting_run(owner, pets):
    """Return a succeeded tiny run of the owner's network on a version of `pets`, with weights."""
    from tests.factories import saved_run, tiny_network
    from webapp.datasets.services.versions import freeze_version

    run = saved_run(owner, freeze_version(pets, user=owner))
    run.network = tiny_network(owner)
    run.config = {**run.config, "epochs": 1, "batch_size": 2}
    run.save(update_fields=["network", "config"])
    return run


def label_some(pets, owner, count):
    from webapp.labelling.services.label import label_image

    red = pets.classes.get(name="red")
    for image in pets.images.filter(label__isnull=True).order_by("pk")[:count]:
        label_image(pets, image.pk, red.pk, expected=None, user=owner)


def test_the_offer_comes_after_n_labels_and_launches_a_run_from_the_suggesting_run(
        owner_client, owner, pets, finished_job, suggesting_run, settings, django_capture_on_commit_callbacks):
    from webapp.labelling.models import Retrain

    settings.LUX_RETRAIN_AFTER_LABELS = 3
    label_some(pets, owner, 2)
    page = owner_client.get(reverse("label_page", args=[pets.pk])).content.decode()
    assert "2 of 3 new labels before retraining" in page and "Retrain from the last model</button>" not in page
    label_some(pets, owner, 1)
    page = owner_client.get(reverse("label_page", args=[pets.pk])).content.decode()
    assert "3 new labels since these suggestions" in page and "Retrain from the last model</button>" in page
    with django_capture_on_commit_callbacks(execute=False):
        answer = owner_client.post(reverse("label_retrain", args=[pets.pk]), follow=True)
    assert "Retraining from the last model as run" in answer.content.decode(), answer.content.decode()[-3000:]
    retrain = Retrain.objects.get()
    run = retrain.run
    assert run.pk != suggesting_run.pk and run.status == "queued"
    assert run.config["init_from"]["kind"] == "run" and run.config["init_from"]["id"] == suggesting_run.pk
    assert run.version.dataset_id == pets.pk and run.version_id != suggesting_run.version_id  # frozen anew
    # The three new labels had no split: they join the training split, so the run learns from them.
    before = suggesting_run.version.entries.filter(split="train").count()
    assert run.version.entries.filter(split="train").count() == before + 3
    page = owner_client.get(reverse("label_page", args=[pets.pk])).content.decode()
    assert f"run {run.pk}</a> is queued" in page
    again = owner_client.post(reverse("label_retrain", args=[pets.pk]), follow=True)
    assert "already under way" in again.content.decode() and Retrain.objects.count() == 1


def test_a_finished_retrain_pre_labels_with_the_new_model(owner, pets, finished_job, suggesting_run,
                                                          django_capture_on_commit_callbacks):
    from webapp.labelling.models import PrelabelJob, Retrain
    from webapp.labelling.services.loop import follow_all, start_retrain
    from webapp.runs.models import ModelArtifact, TrainingRun

    label_some(pets, owner, 1)
    with django_capture_on_commit_callbacks(execute=False):
        retrain = start_retrain(pets, owner)
    assert follow_all() == []  # the run is still queued
    weights = suggesting_run.artifacts.get(kind="weights")
    ModelArtifact.objects.create(run=retrain.run, kind="weights", path=weights.path, size_bytes=weights.size_bytes)
    TrainingRun.objects.filter(pk=retrain.run_id).update(status="succeeded")
    with django_capture_on_commit_callbacks(execute=False):
        assert follow_all() == [retrain.pk]
    retrain.refresh_from_db()
    job = PrelabelJob.objects.get(pk=retrain.prelabel_id)
    assert job.model_ref == f"run:{retrain.run_id}" and job.status == "queued" and retrain.followed_at
    assert follow_all() == []  # once
    assert Retrain.objects.get().note == ""


def test_a_failed_retrain_says_why_no_prelabel_followed(owner, pets, finished_job, django_capture_on_commit_callbacks):
    from webapp.labelling.models import PrelabelJob
    from webapp.labelling.services.loop import follow_all, start_retrain
    from webapp.runs.models import TrainingRun

    label_some(pets, owner, 1)
    with django_capture_on_commit_callbacks(execute=False):
        retrain = start_retrain(pets, owner)
    TrainingRun.objects.filter(pk=retrain.run_id).update(status="failed")
    assert follow_all(pets) == [retrain.pk]
    retrain.refresh_from_db()
    assert "ended failed; no pre-label followed" in retrain.note
    assert PrelabelJob.objects.count() == 1  # only the first one


def test_retrain_is_refused_without_a_run_or_new_labels(owner_client, owner, pets, finished_job):
    from webapp.labelling.models import Retrain
    from webapp.labelling.services.loop import LoopError, start_retrain

    with pytest.raises(LoopError, match="nothing new to learn from"):
        start_retrain(pets, owner)
    finished_job.model_ref = "imported:4"
    finished_job.save()
    label_some(pets, owner, 1)
    with pytest.raises(LoopError, match="pre-label with a training run first"):
        start_retrain(pets, owner)
    assert "Retrain from the last model" not in owner_client.get(reverse("label_page", args=[pets.pk])).content.decode()
    assert not Retrain.objects.exists()


def test_retrain_through_the_api(api_client, owner, outsider, pets, finished_job, suggesting_run,
                                 django_capture_on_commit_callbacks):
    from webapp.runs.models import TrainingRun

    api_client.force_login(owner)
    refused = api_client.post("/api/labelling/retrains/", {"dataset": pets.pk}, format="json")
    assert refused.status_code == 409 and "nothing new to learn from" in refused.json()["detail"]
    label_some(pets, owner, 1)
    with django_capture_on_commit_callbacks(execute=False):
        made = api_client.post("/api/labelling/retrains/", {"dataset": pets.pk}, format="json")
    assert made.status_code == 201, made.json()
    body = made.json()
    assert (body["source"], body["run_status"], body["prelabel"]) == (finished_job.pk, "queued", None)
    TrainingRun.objects.filter(pk=body["run"]).update(status="cancelled")
    followed = api_client.get(f"/api/labelling/retrains/{body['id']}/").json()
    assert followed["followed_at"] and "ended cancelled" in followed["note"]
    assert api_client.post("/api/labelling/retrains/", {"dataset": "x"}, format="json").status_code == 400
    api_client.force_login(outsider)
    assert api_client.get(f"/api/labelling/retrains/{body['id']}/").status_code == 404
    assert api_client.post("/api/labelling/retrains/", {"dataset": pets.pk}, format="json").status_code == 404
