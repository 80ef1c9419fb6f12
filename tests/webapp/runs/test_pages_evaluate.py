"""Evaluating a finished model on another dataset version from the browser."""


import pytest
from django.urls import reverse

from tests.factories import FEW, PETS, make_run, make_version
from webapp.runs.models import Evaluation, EvaluationStatus, ModelArtifact, RunStatus

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]


@pytest.fixture
def with_weights(finished, media):
    run, evaluation, images = finished
    (media / "w.safetensors").write_bytes(b"w")
    ModelArtifact.objects.create(run=run, kind=ModelArtifact.Kind.WEIGHTS, path="w.safetensors")
    return run


def test_it_queues_an_evaluation_and_shows_its_waiting_page(owner_client, owner, with_weights):
    other = make_version(owner, name="Pets again", classes=PETS, per_split=FEW)
    response = owner_client.post(reverse("run_evaluate", args=[with_weights.pk]),
                                 {"version": other.pk, "split": "test"})
    evaluation = Evaluation.objects.get(version=other)
    assert evaluation.status == EvaluationStatus.QUEUED and evaluation.run == with_weights
    assert response["Location"] == reverse("evaluation_detail", args=[evaluation.pk])
    assert b"Evaluating on Pets again v1" in owner_client.get(response["Location"]).content


def test_only_versions_whose_classes_the_model_knows_are_offered(owner_client, owner, with_weights):
    birds = make_version(owner, name="Birds", classes=("owl", "emu"), per_split=FEW)
    make_version(owner, name="Cats and dogs", classes=("cat", "dog"), per_split=FEW)
    html = owner_client.get(reverse("run_evaluate", args=[with_weights.pk])).content.decode()
    assert "Cats and dogs v1" in html and "Pets v1" in html and "Birds" not in html
    html = owner_client.post(reverse("run_evaluate", args=[with_weights.pk]),
                             {"version": birds.pk, "split": "test"}).content.decode()
    assert 'id="id_version_error"' in html  # posted anyway: refused beside the field, saying why
    assert "This model does not know the classes “owl”, “emu”; it was trained on cat, dog, fox." in html
    assert not Evaluation.objects.filter(version=birds).exists()


def test_an_unfinished_run_cannot_be_evaluated(owner_client, owner, pets):
    version, _ = pets
    run = make_run(owner, version, status=RunStatus.RUNNING)
    html = owner_client.get(reverse("run_evaluate", args=[run.pk])).content.decode()
    assert "Only a run that finished training can be evaluated" in html


def test_outsiders_cannot_see_or_use_the_form(outsider_client, owner, with_weights):
    other = make_version(owner, name="Pets again", classes=PETS, per_split=FEW)
    assert outsider_client.get(reverse("run_evaluate", args=[with_weights.pk])).status_code == 404
    response = outsider_client.post(reverse("run_evaluate", args=[with_weights.pk]),
                                    {"version": other.pk, "split": "test"})
    assert response.status_code == 404
    assert not Evaluation.objects.filter(version=other).exists()
