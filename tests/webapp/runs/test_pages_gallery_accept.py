"""The gallery's one-click "Accept the prediction": the image moves to the dataset's class of the predicted name."""

import re

import pytest
from django.urls import reverse

from webapp.datasets.models import Image

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]


def accept_forms(html: str) -> dict[int, str]:
    """Return {image id: the label the tile's accept button posts}."""
    found = {}
    for tile in re.findall(r'<li class="gallery-item[^"]*" data-image-id="(\d+)">(.*?)</li>\n', html, re.S):
        form = re.search(r'class="inline-form accept-form">.*?name="label" value="(\d+)">.*?'
                         r'>Accept the prediction</button>', tile[1], re.S)
        if form:
            found[int(tile[0])] = form.group(1)
    return found


def test_a_misclassified_tile_accepts_the_prediction_in_one_click(owner_client, finished):
    _, evaluation, images = finished
    fox = images["fox"][0]  # a fox predicted as cat
    cat_class = fox.dataset.classes.get(name="cat")
    gallery = reverse("evaluation_cell", args=[evaluation.pk, 2, 0])
    html = owner_client.get(gallery).content.decode()
    assert accept_forms(html) == {fox.pk: str(cat_class.pk)}
    action = reverse("gallery_relabel", args=[evaluation.pk, fox.pk])
    assert f'action="{action}" class="inline-form accept-form"' in html
    response = owner_client.post(reverse("gallery_relabel", args=[evaluation.pk, fox.pk]),
                                 {"label": cat_class.pk, "next": gallery})
    assert response.status_code == 302 and response["Location"] == gallery
    assert Image.objects.get(pk=fox.pk).label == cat_class
    html = owner_client.get(gallery).content.decode()
    assert "Now labelled cat" in html and accept_forms(html) == {}  # accepted: the button goes


def test_correct_tiles_have_no_accept_button(owner_client, finished):
    _, evaluation, _ = finished
    html = owner_client.get(reverse("evaluation_cell", args=[evaluation.pk, 1, 1])).content.decode()
    assert "Accept the prediction" not in html


def test_no_accept_button_when_the_dataset_lost_the_predicted_class(owner_client, finished):
    _, evaluation, images = finished
    cat_class = images["fox"][0].dataset.classes.get(name="cat")
    cat_class.name = "kitten"
    cat_class.save(update_fields=["name"])
    html = owner_client.get(reverse("evaluation_cell", args=[evaluation.pk, 2, 0])).content.decode()
    assert 'data-image-id="' in html and "Accept the prediction" not in html


def test_an_outsider_cannot_accept_a_prediction(outsider_client, finished):
    _, evaluation, images = finished
    fox = images["fox"][0]
    cat_class = fox.dataset.classes.get(name="cat")
    response = outsider_client.post(reverse("gallery_relabel", args=[evaluation.pk, fox.pk]), {"label": cat_class.pk})
    assert response.status_code == 404
    assert Image.objects.get(pk=fox.pk).label.name == "fox"
