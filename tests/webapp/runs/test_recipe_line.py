"""The recipe's one line ("36 training images → … epochs of … steps, batch …") on the launch form and the run page."""

import pytest
from django.urls import reverse

from tests.factories import make_dataset, make_run
from webapp.runs.services.recipes import RECIPE_KEY

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]


def test_the_launch_form_asks_for_the_recipe_of_the_chosen_dataset(owner_client, owner):
    dataset = make_dataset(owner)
    answer = owner_client.get(reverse("run_recipe"), {"dataset": dataset.pk, "arch": "resnet18_small"}).json()
    assert answer["recipe"].startswith("36 training images → ") and "steps, batch" in answer["recipe"]
    assert "neither mirroring nor rotating" in answer["augmentation"]
    given = owner_client.get(reverse("run_recipe"), {"dataset": dataset.pk, "arch": "resnet18_small",
                                                     "epochs": 7, "batch_size": 12}).json()
    assert given["recipe"].startswith("36 training images → 7 epochs of 3 steps, batch 12")


def test_no_recipe_before_a_dataset_is_chosen_nor_for_someone_elses(owner_client, outsider):
    url = reverse("run_recipe")
    assert owner_client.get(url, {"arch": "resnet18_small"}).json() == {"recipe": "", "augmentation": ""}
    theirs = make_dataset(outsider, name="Theirs")
    assert owner_client.get(url, {"dataset": theirs.pk, "arch": "resnet18_small"}).json()["recipe"] == ""


def test_a_re_displayed_form_shows_the_recipe_line(owner_client, owner):
    dataset = make_dataset(owner)
    page = owner_client.post(reverse("run_new"), {"dataset": dataset.pk, "arch": "resnet18_small", "lr": "-1"})
    assert page.status_code == 200
    assert 'id="recipe-line"' in (html := page.content.decode()) and "36 training images → " in html


def test_the_run_page_says_why_its_settings_are_what_they_are(owner_client, owner, pets):
    run = make_run(owner, pets[0])
    run.config = {**run.config, RECIPE_KEY: "240 training images → 60 epochs of 4 steps, batch 64"}
    run.save()
    page = owner_client.get(reverse("run_detail", args=[run.pk])).content.decode()
    assert '<p class="recipe-line" id="run-recipe">240 training images → 60 epochs of 4 steps, batch 64</p>' in page
    assert "<dt>recipe</dt>" not in page  # said once, as a sentence, not among the settings
