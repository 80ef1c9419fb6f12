"""The "New run" form: architectures by family with sizes, pretrained availability, errors beside fields."""

import re

import pytest
from django.urls import reverse

from tests.factories import make_run
from webapp.runs.models import CustomNetwork, RunStatus, TrainingRun

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]


def field_block(html: str, name: str) -> str:
    """Return the HTML of the form field `name`, errors included."""
    start = html.index(f'data-field="{name}"')
    ends = [i for i in (html.find("data-field=", start + 1), html.find("</fieldset>", start)) if i > 0]
    return html[start:min(ends)]


def test_it_groups_architectures_by_family_with_size_and_parameters(owner_client):
    html = owner_client.get(reverse("run_new")).content.decode()
    groups = re.findall(r'<optgroup label="([^"]+)">', html)
    assert groups[:3] == ["VGG", "ResNet", "ViT"]
    resnet = html[html.index('<optgroup label="ResNet">'):html.index("</optgroup>", html.index('label="ResNet"'))]
    option = re.search(r'<option value="resnet18_small"[^>]*>([^<]+)</option>', resnet).group(1)
    assert re.search(r"resnet18_small · \d+\.\dM params · 32 px", option), option


def test_pretrained_is_disabled_with_its_reason(owner_client):
    html = owner_client.get(reverse("run_new")).content.decode()
    box = re.search(r'<input type="checkbox" name="pretrained"[^>]*>', html).group(0)
    assert "disabled" in box
    block = field_block(html, "pretrained")
    assert "trains from scratch" in block and f'<a href="{reverse("weights_page")}">' in block


def test_errors_appear_beside_their_field(owner_client, pets):
    version, _ = pets
    html = owner_client.post(reverse("run_new"), {"arch": "resnet18_small"}).content.decode()
    assert "Choose the dataset to train on." in field_block(html, "dataset")
    html = owner_client.post(reverse("run_new"), {"arch": "resnet18_small", "dataset": version.dataset_id,
                                                  "batch_size": 500}).content.decode()
    assert "at most 6" in field_block(html, "batch_size")  # 3 classes x 2 training images
    assert TrainingRun.objects.count() == 0


def test_pressing_train_launches_a_queued_run(owner_client, owner, pets):
    version, _ = pets
    response = owner_client.post(reverse("run_new"), {"arch": "resnet18_small", "dataset": version.dataset_id,
                                                      "epochs": 1, "mixed_precision": "auto", "device": "auto",
                                                      "augment": "light"})
    run = TrainingRun.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("run_detail", args=[run.pk])
    assert run.status == RunStatus.QUEUED and run.owner == owner and run.version == version
    assert run.config["epochs"] == 1


def test_a_saved_network_appears_in_the_list_and_can_be_preselected(owner_client, owner):
    network = CustomNetwork.objects.create(owner=owner, name="tiny net", spec=[{"type": "flatten"}], image_size=8)
    html = owner_client.get(reverse("run_new") + f"?network={network.pk}").content.decode()
    mine = html[html.index('<optgroup label="Your own networks">'):]
    assert re.search(rf'<option value="net:{network.pk}" selected>tiny net · ', mine)


def test_rerun_fills_the_form_with_the_run_settings(owner_client, owner, pets):
    version, _ = pets
    run = make_run(owner, version, name="first", epochs=7, config={"lr": 0.05})
    html = owner_client.get(reverse("run_rerun", args=[run.pk])).content.decode()
    assert 'name="epochs" value="7"' in html and 'name="lr" value="0.05"' in html
    assert 'value="first (re-run)"' in html
    assert f'action="{reverse("run_new")}"' in html


def test_outsiders_cannot_rerun(outsider_client, owner, pets):
    version, _ = pets
    run = make_run(owner, version)
    assert outsider_client.get(reverse("run_rerun", args=[run.pk])).status_code == 404


def test_outsiders_cannot_launch_on_the_owners_dataset(outsider_client, pets):
    version, _ = pets
    html = outsider_client.post(reverse("run_new"), {"arch": "resnet18_small", "dataset": version.dataset_id})
    assert html.status_code == 200 and TrainingRun.objects.count() == 0
    assert "Pets" not in html.content.decode().split('data-field="dataset"')[1].split("</select>")[0]
