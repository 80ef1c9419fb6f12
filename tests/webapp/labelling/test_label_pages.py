"""The labelling page and the label history on the image page."""

import json

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_label_page_shows_counter_keys_and_its_script(owner_client, pets):
    page = owner_client.get(reverse("label_page", args=[pets.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "6</strong> of 12 left in unlabelled images" in html
    assert '<kbd>1</kbd> red' in html and '<kbd>3</kbd> blue' in html
    assert "js/labelling/label.js" in html and "<script>" not in html
    # The dataset's tabs link to it.
    overview = owner_client.get(reverse("dataset_detail", args=[pets.pk])).content.decode()
    assert reverse("label_page", args=[pets.pk]) in overview


def test_review_of_one_class_and_a_bad_scope(owner_client, pets):
    red = pets.classes.get(name="red")
    page = owner_client.get(reverse("label_page", args=[pets.pk]), {"scope": red.pk})
    assert "2</strong> of 12 left in class red" in page.content.decode()
    assert owner_client.get(reverse("label_page", args=[pets.pk]), {"scope": "nope"}).status_code == 400


def test_image_page_shows_how_each_label_was_made(owner_client, pets):
    image = pets.images.filter(label__isnull=True).first()
    red = pets.classes.get(name="red")
    owner_client.post(reverse("label_image", args=[pets.pk]), json.dumps({"image": image.pk, "label": red.pk}),
                      content_type="application/json")
    html = owner_client.get(reverse("image_detail", args=[pets.pk, image.pk])).content.decode()
    assert "Label history" in html and "by hand" in html and "olive" in html


def test_keys_run_1_to_9_then_letters_without_z_and_s():
    from webapp.labelling.services.keys import class_keys

    keys = [k["key"] for k in class_keys(range(40))]
    assert keys[:10] == list("123456789a") and "z" not in keys and "s" not in keys
    assert keys[-1] == "" and len(set(keys[:33])) == 33
