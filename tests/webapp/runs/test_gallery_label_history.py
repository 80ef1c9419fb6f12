"""The gallery's changes are in the image's label history: "Accept the prediction" as the run's suggestion
accepted, Relabel by hand; a version frozen afterwards counts them by origin."""

import pytest
from django.urls import reverse

from webapp.datasets.models import Image
from webapp.datasets.services.versions import freeze_version
from webapp.labelling.models import LabelEvent

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]


def test_accepting_the_prediction_records_the_run_as_the_suggesting_model(owner_client, owner, finished):
    run, evaluation, images = finished
    fox = images["fox"][0]  # a fox predicted as cat
    dataset = fox.dataset
    cat = dataset.classes.get(name="cat")
    gallery = reverse("evaluation_cell", args=[evaluation.pk, 2, 0])
    assert 'name="accept" value="1"' in owner_client.get(gallery).content.decode()
    owner_client.post(reverse("gallery_relabel", args=[evaluation.pk, fox.pk]),
                      {"label": cat.pk, "accept": "1", "next": gallery})
    assert Image.objects.get(pk=fox.pk).label == cat
    event = LabelEvent.objects.get(image=fox)
    assert (event.label_name, event.previous_name, event.origin, event.model_ref, event.user) == \
        ("cat", "fox", "suggestion", f"run:{run.pk}", owner)
    page = owner_client.get(reverse("image_detail", args=[dataset.pk, fox.pk])).content.decode()
    assert "suggestion accepted" in page and f"run:{run.pk}" in page
    # Another relabel from the gallery's menu is by hand; the freeze after counts both ways.
    dog = images["dog"][0]
    owner_client.post(reverse("gallery_relabel", args=[evaluation.pk, dog.pk]),
                      {"label": dataset.classes.get(name="fox").pk, "next": gallery})
    assert LabelEvent.objects.get(image=dog).origin == "hand"
    version = freeze_version(dataset, user=owner)
    per_origin = version.counts["per_origin"]
    assert (per_origin["suggestion"], per_origin["hand"], per_origin["bulk"]) == (1, 1, 0)
    assert per_origin["unrecorded"] == version.counts["total"] - 2


def test_accept_refuses_a_class_the_run_did_not_predict(owner_client, finished):
    _, evaluation, images = finished
    fox = images["fox"][0]  # predicted as cat, not dog
    dog = fox.dataset.classes.get(name="dog")
    gallery = reverse("evaluation_cell", args=[evaluation.pk, 2, 0])
    response = owner_client.post(reverse("gallery_relabel", args=[evaluation.pk, fox.pk]),
                                 {"label": dog.pk, "accept": "1", "next": gallery}, follow=True)
    assert "The run predicted cat, not dog; nothing was changed." in response.content.decode()
    assert Image.objects.get(pk=fox.pk).label.name == "fox" and not LabelEvent.objects.exists()


def test_relabelling_to_the_class_it_has_records_nothing(owner_client, finished):
    _, evaluation, images = finished
    fox = images["fox"][0]
    owner_client.post(reverse("gallery_relabel", args=[evaluation.pk, fox.pk]),
                      {"label": fox.dataset.classes.get(name="fox").pk})
    assert not LabelEvent.objects.exists()


def test_a_label_that_is_no_id_is_refused_not_a_500(owner_client, finished):
    _, evaluation, images = finished
    fox = images["fox"][0]
    response = owner_client.post(reverse("gallery_relabel", args=[evaluation.pk, fox.pk]), {"label": "abc"},
                                 follow=True)
    assert response.status_code == 200 and "Pick one of the dataset" in response.content.decode()
