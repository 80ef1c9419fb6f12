"""The split page: ratios that must add up to 1, a seed that repeats the split, and the counts now."""

import pytest
from django.test import Client

from tests.webapp.datasets.page_helpers import add_images, make_dataset
from webapp.datasets.models import Image

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]  # files in a folder of its own


@pytest.fixture
def flowers(owner):
    dataset = make_dataset(owner, "Flowers", classes=("daisy", "rose"))
    add_images(dataset, 10, label=dataset.classes.get(name="daisy"))
    add_images(dataset, 10, label=dataset.classes.get(name="rose"), start=100)
    return dataset


def split(client, dataset, **data):
    form = {"train": 0.6, "val": 0.2, "test": 0.2, "seed": 7, **data}
    return client.post(f"/datasets/{dataset.pk}/split/", form)


def assignment(dataset) -> dict[int, str]:
    return dict(Image.objects.filter(dataset=dataset).values_list("pk", "split"))


def test_it_splits_each_class_by_the_ratios(owner_client, flowers):
    response = split(owner_client, flowers)
    assert response.status_code == 302
    for cls in flowers.classes.all():
        splits = list(Image.objects.filter(label=cls).values_list("split", flat=True))
        assert (splits.count("train"), splits.count("val"), splits.count("test")) == (6, 2, 2)
    page = owner_client.get(response["Location"]).content.decode()
    assert "Images split: 12 train, 4 validation, 4 test." in page


def test_the_same_seed_gives_the_same_split(owner_client, flowers):
    split(owner_client, flowers, seed=3)
    first = assignment(flowers)
    split(owner_client, flowers, seed=99)
    assert assignment(flowers) != first
    split(owner_client, flowers, seed=3)
    assert assignment(flowers) == first


def test_ratios_that_do_not_add_up_to_1_are_an_error_beside_the_field(owner_client, flowers):
    response = split(owner_client, flowers, train=0.7, val=0.1, test=0.1)
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="id_test_error"' in page
    assert "add up to 0.9; they must add up to 1" in page
    assert set(assignment(flowers).values()) == {"unassigned"}


def test_it_can_split_only_unassigned_images(owner_client, flowers):
    kept = Image.objects.filter(dataset=flowers).first()
    kept.split = "test"
    kept.save()
    split(owner_client, flowers, train=1, val=0, test=0, only_unassigned="on")
    kept.refresh_from_db()
    assert kept.split == "test"
    assert Image.objects.filter(dataset=flowers, split="train").count() == 19


def test_it_shows_the_counts_per_split(owner_client, flowers):
    page = owner_client.get(f"/datasets/{flowers.pk}/split/").content.decode()
    assert '>Unassigned</a></td><td class="num">20</td>' in page


def test_outsiders_get_404(outsider, flowers):
    client = Client()
    client.force_login(outsider)
    assert client.get(f"/datasets/{flowers.pk}/split/").status_code == 404
    assert split(client, flowers).status_code == 404
    assert set(assignment(flowers).values()) == {"unassigned"}
