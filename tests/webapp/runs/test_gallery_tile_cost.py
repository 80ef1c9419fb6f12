"""A gallery page's cost per tile: its links are made once a page, and each tile still shows its own."""

import re
from unittest import mock

import pytest
from django.urls import reverse
from django.urls.resolvers import URLResolver

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]


def reverses_to_render(client, url) -> tuple[int, str]:
    """Return how many URLs were reversed while rendering `url`, and its HTML."""
    with mock.patch.object(URLResolver, "_reverse_with_prefix", autospec=True,
                           side_effect=URLResolver._reverse_with_prefix) as spy:
        html = client.get(url).content.decode()
    return spy.call_count, html


def test_three_tiles_reverse_no_more_urls_than_one(owner_client, finished):
    _, evaluation, _ = finished
    one, html_one = reverses_to_render(owner_client, reverse("evaluation_cell", args=[evaluation.pk, 0, 0]))
    three, html_three = reverses_to_render(owner_client, reverse("evaluation_cell", args=[evaluation.pk, 1, 1]))
    assert html_one.count("data-image-id=") == 1 and html_three.count("data-image-id=") == 3
    # 60 tiles a page: four reversed links a tile made the page's cost follow the number of images shown.
    assert three == one


def test_each_tile_links_to_its_own_image_and_selects_its_class(owner_client, finished):
    _, evaluation, images = finished
    html = owner_client.get(reverse("evaluation_cell", args=[evaluation.pk, 1, 1])).content.decode()
    for dog in images["dog"]:
        tile = html[html.index(f'data-image-id="{dog.pk}"'):]
        tile = tile.split('class="gallery-item')[0]  # up to the next tile
        assert reverse("image_detail", args=[dog.dataset_id, dog.pk]) in tile
        assert reverse("image_thumbnail", kwargs={"pk": dog.dataset_id, "image_pk": dog.pk}) in tile
        assert f'action="{reverse("gallery_relabel", args=[evaluation.pk, dog.pk])}"' in tile
        assert f'action="{reverse("gallery_remove", args=[evaluation.pk, dog.pk])}"' in tile
        assert re.findall(r'<option value="(\d+)" selected>', tile) == [str(dog.label_id)]
