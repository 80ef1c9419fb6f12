"""Runs that continue from earlier models: the launch form and the API take "start from" a run or an import."""

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests.factories import digits_dataset, make_dataset, make_version, saved_run, tiny_network, wait_until_finished
from webapp.classify.services.imported import import_model
from webapp.runs.forms import LaunchForm
from webapp.runs.models import ModelArtifact, RunStatus, TrainingRun
from webapp.runs.services.control import rerun_initial

pytestmark = pytest.mark.django_db


def form_for(user, **data):
    form = LaunchForm(data=data, user=user)
    form.is_valid()
    return form


@pytest.fixture
def earlier(owner, media):
    """Return (network, version, run): a succeeded tiny run of the owner's, with its weights file."""
    network = tiny_network(owner)
    version = make_version(owner, name="Earlier")
    return network, version, saved_run(owner, version, name="earlier run")


def test_a_run_starts_from_an_earlier_run_of_the_same_network(owner, earlier):
    network, version, run = earlier
    form = form_for(owner, dataset=make_dataset(owner, name="New data").pk, arch=f"net:{network.pk}",
                    start_from=f"run:{run.pk}")
    assert form.is_valid(), form.errors

    launched = form.launch()

    weights = run.artifacts.get(kind=ModelArtifact.Kind.WEIGHTS)
    assert launched.config["pretrained"].endswith(weights.path)
    assert launched.config["init_from"] | {"sha256": ""} == {
        "kind": "run", "id": run.pk, "label": f"earlier run · custom · Earlier v{version.number}", "arch": "custom",
        "file": "model.safetensors", "sha256": ""}


def test_an_imported_model_is_offered_and_taken(owner, earlier):
    network, _, run = earlier
    weights = settings.MEDIA_ROOT / run.artifacts.get(kind=ModelArtifact.Kind.WEIGHTS).path
    upload = SimpleUploadedFile("tiny.safetensors", weights.read_bytes())
    imported = import_model(owner, name="from elsewhere", upload=upload)
    form = LaunchForm(user=owner)
    offered = dict(form.fields["start_from"].choices)
    assert dict(offered["Imported models"]) == {f"imported:{imported.pk}": "from elsewhere · custom (imported)"}
    assert f"run:{run.pk}" in dict(offered["Your runs"])

    form = form_for(owner, dataset=make_dataset(owner).pk, arch=f"net:{network.pk}",
                    start_from=f"imported:{imported.pk}")
    assert form.is_valid(), form.errors
    assert form.resolved.config.pretrained == imported.file.path


def test_another_architecture_is_refused_with_the_reason(owner, earlier):
    _, _, run = earlier
    form = form_for(owner, dataset=make_dataset(owner).pk, arch="resnet18_small", start_from=f"run:{run.pk}")
    assert list(form.errors) == ["start_from"]
    assert "earlier run is a custom; a run can only start from a model of the same architecture" in \
        form.errors["start_from"][0]


def test_imagenet_and_an_earlier_model_together_are_refused(owner, earlier):
    network, _, run = earlier
    form = form_for(owner, dataset=make_dataset(owner).pk, arch="resnet18", pretrained=True,
                    start_from=f"run:{run.pk}")
    assert "start_from" in form.errors


def test_an_outsiders_run_or_model_is_an_unknown_choice(owner, outsider, earlier, api_client):
    network, _, run = earlier
    mine = tiny_network(outsider, name="mine")
    dataset = make_dataset(outsider, name="Theirs")
    for value in (f"run:{run.pk}", "imported:1", f"run:{run.pk + 1000}", "nonsense"):
        form = form_for(outsider, dataset=dataset.pk, arch=f"net:{mine.pk}", start_from=value)
        assert form.errors["start_from"] == [f"Select a valid choice. {value} is not one of the available choices."]
    api_client.force_authenticate(outsider)
    response = api_client.post("/api/runs/", {"dataset": dataset.pk, "arch": f"net:{mine.pk}",
                                              "start_from": f"run:{run.pk}"}, format="json")
    assert response.status_code == 400 and "earlier run" not in str(response.json())
    assert list(response.json()) == ["start_from"] and not TrainingRun.objects.filter(owner=outsider).exists()


def test_the_launch_page_offers_the_choice(owner_client, earlier):
    _, _, run = earlier
    html = owner_client.get(reverse("run_new")).content.decode()
    assert 'name="start_from"' in html and f'value="run:{run.pk}"' in html


@pytest.mark.slow
def test_a_run_started_from_an_earlier_run_begins_far_better_than_from_scratch(worker, owner, api_client):
    dataset, _ = digits_dataset(owner, per_class=30, size=16)
    api_client.force_authenticate(owner)
    # The built-in small CNN: from scratch its first epoch is near chance (0.1) on these 10 classes.
    settings_ = {"dataset": dataset.pk, "arch": "custom", "image_size": 16, "batch_size": 32, "seed": 0,
                 "device": "cpu"}

    def train(**extra):
        response = api_client.post("/api/runs/", {**settings_, **extra}, format="json")
        assert response.status_code == 201, response.json()
        run = wait_until_finished(response.json()["id"], timeout=240, log=worker.log)
        assert run.status == RunStatus.SUCCEEDED, (run.error, run.traceback)
        return run

    scratch = train(epochs=10)
    continued = train(epochs=1, start_from=f"run:{scratch.pk}")

    first = {run.pk: run.epochs.get(epoch=1).val_accuracy for run in (scratch, continued)}
    assert first[continued.pk] >= first[scratch.pk] + 0.3, first
    assert continued.config["init_from"]["id"] == scratch.pk


def test_a_rerun_starts_from_the_same_earlier_model(owner, earlier):
    network, _, run = earlier
    launched = form_for(owner, dataset=make_dataset(owner).pk, arch=f"net:{network.pk}",
                        start_from=f"run:{run.pk}").launch()
    assert rerun_initial(launched)["start_from"] == f"run:{run.pk}"
