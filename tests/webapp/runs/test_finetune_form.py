"""Fine-tune modes on the launch form and the API, and the fine-tune defaults when starting from weights."""

import pytest
from django.urls import reverse

from tests.factories import make_dataset, make_version, saved_run, tiny_network
from webapp.runs.forms import LaunchForm

pytestmark = pytest.mark.django_db


@pytest.fixture
def earlier(owner, media):
    """Return (network, run): a succeeded tiny run of the owner's network, and new data to start on."""
    network = tiny_network(owner)
    run = saved_run(owner, make_version(owner, name="Earlier"), name="earlier run")
    return network, run, make_dataset(owner, name="New data")


def valid_form(user, **data) -> LaunchForm:
    form = LaunchForm(data=data, user=user)
    assert form.is_valid(), form.errors
    return form


def test_a_mode_is_kept_and_the_recipe_line_says_so(owner, earlier):
    network, run, dataset = earlier
    form = valid_form(owner, dataset=dataset.pk, arch=f"net:{network.pk}", start_from=f"run:{run.pk}",
                      finetune="head")
    assert form.resolved.config.finetune == "head"
    assert "fine-tuning from weights, the final layer only" in form.resolved.recipe
    assert form.launch().config["finetune"] == "head"


def test_fine_tune_defaults_fill_what_was_left_empty(owner, earlier):
    network, run, dataset = earlier
    scratch = valid_form(owner, dataset=dataset.pk, arch=f"net:{network.pk}").resolved
    tuned = valid_form(owner, dataset=dataset.pk, arch=f"net:{network.pk}", start_from=f"run:{run.pk}").resolved
    assert tuned.config.lr < scratch.config.lr and tuned.config.epochs < scratch.config.epochs
    assert tuned.config.warmup_epochs > 0 and tuned.config.scheduler == "cosine"
    assert "a lower learning rate, fewer epochs, a warm-up: the custom fine-tune defaults" in tuned.recipe
    given = valid_form(owner, dataset=dataset.pk, arch=f"net:{network.pk}", start_from=f"run:{run.pk}", lr=0.01,
                       epochs=4).resolved
    assert (given.config.lr, given.config.epochs) == (0.01, 4) and "(a warm-up: the custom" in given.recipe


def test_a_mode_without_weights_is_refused_beside_the_field(owner, earlier):
    network, _, dataset = earlier
    form = LaunchForm(data={"dataset": dataset.pk, "arch": f"net:{network.pk}", "finetune": "lower_lr"}, user=owner)
    assert not form.is_valid()
    assert "needs pretrained weights" in form.errors["finetune"][0]


def test_the_api_takes_a_mode_and_refuses_garbage(api_client, owner, earlier):
    network, run, dataset = earlier
    api_client.force_authenticate(owner)
    body = {"dataset": dataset.pk, "arch": f"net:{network.pk}", "start_from": f"run:{run.pk}"}

    response = api_client.post("/api/runs/", {**body, "finetune": "lower_lr"}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["config"]["finetune"] == "lower_lr"
    assert response.json()["config"]["backbone_lr_scale"] == 0.1

    response = api_client.post("/api/runs/", {**body, "finetune": "sideways"}, format="json")
    assert response.status_code == 400 and "finetune" in response.json()


def test_the_launch_page_offers_the_modes_beside_start_from(owner_client, earlier):
    html = owner_client.get(reverse("run_new")).content.decode()
    model = html[html.index("<legend>Model"):html.index("<legend>Training")]
    assert 'data-field="start_from"' in model and 'data-field="finetune"' in model
    assert 'value="lower_lr"' in model and "js/runs/finetune.js" in html
