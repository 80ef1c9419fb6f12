"""Retrain with the new labels: freeze the dataset as it is now and launch a run on it, starting from this run."""

import pytest
from django.urls import reverse

from tests.factories import images_by_class, make_evaluation, make_version, saved_run, tiny_network
from webapp.datasets.models import DatasetVersion
from webapp.datasets.services.bulk import relabel
from webapp.runs.models import RunStatus, TrainingRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def earlier(owner, media):
    """Return (run, evaluation): a succeeded tiny run of the owner's network, with weights and a test evaluation."""
    version = make_version(owner, name="Squares")
    run = saved_run(owner, version, name="earlier run")
    run.network = tiny_network(owner)
    run.config = {**run.config, "epochs": 3, "lr": 0.003, "batch_size": 2}
    run.save(update_fields=["network", "config"])
    tests = [(image, i, i, 3.0) for i, images in enumerate(images_by_class(version).values()) for image in images]
    return run, make_evaluation(run, tests)


def move_one_image(run, to="green"):
    """Relabel the first test image of class red to `to` in the live dataset; return the image."""
    dataset = run.version.dataset
    image = images_by_class(run.version)["red"][0]
    relabel(dataset, [image.pk], dataset.classes.get(name=to))
    return image


def test_it_trains_on_the_new_labels_starting_from_the_run_with_its_settings(owner_client, earlier):
    run, evaluation = earlier
    image = move_one_image(run)
    results = reverse("evaluation_detail", args=[evaluation.pk])

    response = owner_client.post(reverse("run_retrain", args=[run.pk]), {"next": results}, follow=True)

    new = TrainingRun.objects.exclude(pk__in=[run.pk]).get()
    assert response.redirect_chain[-1][0] == reverse("run_detail", args=[new.pk])
    assert "is queued" in response.content.decode()
    assert new.version.dataset_id == run.version.dataset_id and new.version.number == run.version.number + 1
    assert new.version.entries.get(image=image).class_index == new.version.class_names.index("green")
    assert new.config["init_from"]["kind"] == "run" and new.config["init_from"]["id"] == run.pk
    assert new.config["pretrained"].endswith("model.safetensors")
    assert (new.network_id, new.arch) == (run.network_id, run.arch)
    assert {k: new.config[k] for k in ("epochs", "lr", "batch_size")} == {"epochs": 3, "lr": 0.003, "batch_size": 2}
    assert new.status == RunStatus.QUEUED


def test_the_results_page_and_the_gallery_offer_the_button(owner_client, earlier):
    run, evaluation = earlier
    prediction = evaluation.predictions.first()
    for url in (reverse("evaluation_detail", args=[evaluation.pk]),
                reverse("evaluation_cell", args=[evaluation.pk, prediction.true_index, prediction.predicted_index])):
        html = owner_client.get(url).content.decode()
        assert f'action="{reverse("run_retrain", args=[run.pk])}"' in html, url
        assert "Retrain with the new labels" in html, url


def test_a_run_that_did_not_succeed_is_refused_saying_why(owner_client, earlier):
    run, evaluation = earlier
    TrainingRun.objects.filter(pk=run.pk).update(status=RunStatus.FAILED)
    move_one_image(run)
    assert "Retrain with the new labels" not in owner_client.get(
        reverse("evaluation_detail", args=[evaluation.pk])).content.decode()

    response = owner_client.post(reverse("run_retrain", args=[run.pk]), follow=True)

    assert response.redirect_chain[-1][0] == reverse("run_detail", args=[run.pk])
    assert "only a run that succeeded has a model to start from" in response.content.decode()
    assert TrainingRun.objects.count() == 1 and DatasetVersion.objects.count() == 1


def test_a_run_without_weights_is_refused(api_client, owner, earlier):
    run, _ = earlier
    run.artifacts.all().delete()
    move_one_image(run)
    api_client.force_authenticate(owner)

    response = api_client.post(f"/api/runs/{run.pk}/retrain/")

    assert response.status_code == 409
    assert "no weights file to start from" in response.json()["detail"]
    assert TrainingRun.objects.count() == 1 and DatasetVersion.objects.count() == 1


def test_data_that_can_no_longer_train_is_refused_and_nothing_is_frozen(api_client, owner, earlier):
    run, _ = earlier
    dataset = run.version.dataset
    relabel(dataset, list(dataset.images.values_list("pk", flat=True)), dataset.classes.get(name="red"))
    api_client.force_authenticate(owner)

    response = api_client.post(f"/api/runs/{run.pk}/retrain/")

    assert response.status_code == 409
    assert "a classifier needs at least 2" in response.json()["detail"]
    assert TrainingRun.objects.count() == 1 and DatasetVersion.objects.count() == 1


def test_the_api_answers_the_new_run_and_where_it_started(api_client, owner, earlier):
    run, _ = earlier
    move_one_image(run)
    api_client.force_authenticate(owner)

    response = api_client.post(f"/api/runs/{run.pk}/retrain/")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["version_number"] == run.version.number + 1
    assert body["started_from"]["kind"] == "run" and body["started_from"]["id"] == run.pk
    assert body["started_from"]["url"] == reverse("run_detail", args=[run.pk])
