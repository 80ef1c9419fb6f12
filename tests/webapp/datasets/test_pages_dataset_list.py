"""The dataset list, creating a dataset, editing it, and the dashboard card."""

import pytest

from tests.webapp.datasets.page_helpers import add_images, make_dataset
from webapp.datasets.models import Dataset

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]  # files in a folder of its own


def test_it_requires_sign_in(client):
    response = client.get("/datasets/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_it_lists_the_users_and_teammates_datasets_with_sizes(owner_client, owner, teammate, outsider):
    mine = make_dataset(owner, "Flowers", classes=("rose",))
    add_images(mine, 3, label=mine.classes.get())
    make_dataset(teammate, "Birds")
    make_dataset(outsider, "Secret cats")
    page = owner_client.get("/datasets/").content.decode()
    assert "Flowers" in page and "Birds" in page
    assert "Secret cats" not in page
    assert '<td class="num">3</td>' in page  # Flowers' image count


def test_it_invites_to_create_the_first_dataset(owner_client):
    page = owner_client.get("/datasets/").content.decode()
    assert "No dataset yet" in page
    assert 'href="/datasets/new/"' in page


def test_it_creates_a_dataset_and_goes_to_its_upload_page(owner_client, owner):
    response = owner_client.post("/datasets/new/", {"name": "  Flowers  ", "description": "garden"})
    dataset = Dataset.objects.get(owner=owner)
    assert dataset.name == "Flowers"
    assert response.status_code == 302
    assert response["Location"] == f"/datasets/{dataset.pk}/upload/"


def test_a_taken_name_is_an_error_beside_the_field(owner_client, owner):
    make_dataset(owner, "Flowers")
    response = owner_client.post("/datasets/new/", {"name": "flowers"})
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="id_name_error"' in page
    assert "You already have a dataset called" in page
    assert Dataset.objects.filter(owner=owner).count() == 1


def test_another_users_dataset_name_is_free(owner_client, owner, outsider):
    make_dataset(outsider, "Flowers")
    owner_client.post("/datasets/new/", {"name": "Flowers"})
    assert Dataset.objects.filter(owner=owner, name="Flowers").exists()


def test_it_renames_a_dataset(owner_client, owner):
    dataset = make_dataset(owner, "Flowers")
    response = owner_client.post(f"/datasets/{dataset.pk}/edit/", {"name": "Garden", "description": ""})
    assert response.status_code == 302
    dataset.refresh_from_db()
    assert dataset.name == "Garden"


def test_outsiders_get_404_on_edit(outsider_client, owner):
    dataset = make_dataset(owner, "Flowers")
    assert outsider_client.get(f"/datasets/{dataset.pk}/edit/").status_code == 404
    assert outsider_client.post(f"/datasets/{dataset.pk}/edit/", {"name": "Mine"}).status_code == 404
    dataset.refresh_from_db()
    assert dataset.name == "Flowers"


def test_the_dashboard_counts_datasets_and_offers_to_create_one(owner_client, owner):
    make_dataset(owner, "Flowers")
    make_dataset(owner, "Birds")
    page = owner_client.get("/").content.decode()
    assert '<a href="/datasets/">Datasets</a>' in page
    assert '<p class="big">2</p>' in page
    assert "Create a dataset" in page


def test_the_navigation_links_to_datasets(owner_client):
    assert 'href="/datasets/"' in owner_client.get("/").content.decode()


def test_it_deletes_a_dataset_after_asking(owner_client, owner):
    dataset = make_dataset(owner, "Flowers")
    add_images(dataset, 2)
    assert "Delete “Flowers”?" in owner_client.get(f"/datasets/{dataset.pk}/delete/").content.decode()
    response = owner_client.post(f"/datasets/{dataset.pk}/delete/")
    assert response.status_code == 302 and response["Location"] == "/datasets/"
    assert not Dataset.objects.filter(pk=dataset.pk).exists()


def test_outsiders_get_404_on_delete(outsider_client, owner):
    dataset = make_dataset(owner, "Flowers")
    assert outsider_client.get(f"/datasets/{dataset.pk}/delete/").status_code == 404
    assert outsider_client.post(f"/datasets/{dataset.pk}/delete/").status_code == 404
    assert Dataset.objects.filter(pk=dataset.pk).exists()
