"""Build your own network: the shape endpoint, saving by name, editing, and who may see it."""

import json

import pytest
from django.urls import reverse

from classifier.netspec import layer_shapes
from webapp.runs.models import CustomNetwork

pytestmark = pytest.mark.django_db
SPEC = [{"type": "conv", "channels": 8, "kernel": 3}, {"type": "relu"}, {"type": "maxpool", "kernel": 2},
        {"type": "flatten"}, {"type": "linear", "features": 16}]


def shapes(client, spec, image_size=16, num_classes=4):
    body = json.dumps({"spec": spec, "image_size": image_size, "num_classes": num_classes})
    return client.post(reverse("network_shapes"), body, content_type="application/json").json()


def test_it_answers_each_layers_shape_from_the_engine(owner_client):
    report = shapes(owner_client, SPEC)
    engine = layer_shapes(SPEC, image_size=16, num_classes=4)
    assert report["ok"] is True
    assert [(row["out_shape"], row["params"]) for row in report["layers"]] == \
        [(list(row.out_shape), row.params) for row in engine]
    assert report["layers"][2]["out_shape"] == [8, 8, 8]
    assert report["total_params"] == sum(row.params for row in engine)


def test_it_names_the_offending_layer(owner_client):
    report = shapes(owner_client, [{"type": "flatten"}, {"type": "conv", "channels": 4}])
    assert report["ok"] is False and report["error"]["layer"] == 2
    assert "flattened" in report["error"]["message"]


def test_it_answers_bad_json_with_an_error(owner_client):
    response = owner_client.post(reverse("network_shapes"), "{not json", content_type="application/json")
    assert response.status_code == 400 and response.json()["ok"] is False


def test_the_builder_page_renders(owner_client):
    html = owner_client.get(reverse("network_new")).content.decode()
    assert 'id="layer-rows"' in html and 'id="initial-spec"' in html and "builder.js" in html
    assert f'data-shapes-url="{reverse("network_shapes")}"' in html


def test_saving_creates_a_network_and_opens_the_launch_form_with_it(owner_client, owner):
    response = owner_client.post(reverse("network_new"), {"name": "little", "image_size": 16,
                                                          "spec": json.dumps(SPEC)})
    network = CustomNetwork.objects.get()
    assert (network.owner, network.name, network.image_size, network.spec) == (owner, "little", 16, SPEC)
    assert response["Location"] == reverse("run_new") + f"?network={network.pk}"


def test_saving_a_network_that_does_not_fit_says_why(owner_client):
    bad = [{"type": "conv", "channels": 4, "kernel": 3, "padding": 0}] * 9
    html = owner_client.post(reverse("network_new"), {"name": "too deep", "image_size": 16,
                                                      "spec": json.dumps(bad)}).content.decode()
    assert "The network does not fit" in html and "layer 8" in html
    assert not CustomNetwork.objects.exists()


def test_names_are_unique_per_owner(owner_client, owner):
    CustomNetwork.objects.create(owner=owner, name="little", spec=SPEC, image_size=16)
    html = owner_client.post(reverse("network_new"), {"name": "little", "image_size": 16,
                                                      "spec": json.dumps(SPEC)}).content.decode()
    assert "You already have a network called" in html
    assert CustomNetwork.objects.count() == 1


def test_editing_keeps_the_network(owner_client, owner):
    network = CustomNetwork.objects.create(owner=owner, name="little", spec=SPEC, image_size=16)
    assert b"little" in owner_client.get(reverse("network_edit", args=[network.pk])).content
    owner_client.post(reverse("network_edit", args=[network.pk]), {"name": "little", "image_size": 32,
                                                                   "spec": json.dumps(SPEC[:2])})
    network.refresh_from_db()
    assert network.image_size == 32 and network.spec == SPEC[:2] and CustomNetwork.objects.count() == 1


def test_outsiders_get_404(outsider_client, owner):
    network = CustomNetwork.objects.create(owner=owner, name="little", spec=SPEC, image_size=16)
    assert outsider_client.get(reverse("network_edit", args=[network.pk])).status_code == 404
    assert outsider_client.post(reverse("network_edit", args=[network.pk]),
                                {"name": "mine", "image_size": 16, "spec": "[]"}).status_code == 404
    assert CustomNetwork.objects.get().name == "little"
