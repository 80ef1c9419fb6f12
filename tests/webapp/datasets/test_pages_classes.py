"""The classes page: create, rename, merge and delete classes, with errors beside the field."""

import pytest
from django.test import Client

from tests.webapp.datasets.page_helpers import add_images, make_dataset
from webapp.datasets.models import DatasetClass, Image

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]  # files in a folder of its own


@pytest.fixture
def flowers(owner):
    dataset = make_dataset(owner, "Flowers", classes=("daisy", "rose"))
    add_images(dataset, 3, label=dataset.classes.get(name="daisy"), split="train")
    add_images(dataset, 2, label=dataset.classes.get(name="rose"), split="val", start=10)
    return dataset


def base(dataset) -> str:
    return f"/datasets/{dataset.pk}/classes/"


def test_it_lists_classes_with_counts_per_split(owner_client, flowers):
    page = owner_client.get(base(flowers)).content.decode()
    assert "daisy" in page and "rose" in page
    assert '<td class="num"><strong>3</strong></td>' in page


def test_it_creates_a_class(owner_client, flowers):
    response = owner_client.post(base(flowers) + "new/", {"create-name": "tulip"})
    assert response.status_code == 302
    assert flowers.classes.filter(name="tulip").exists()


def test_a_taken_class_name_is_an_error_beside_the_field(owner_client, flowers):
    response = owner_client.post(base(flowers) + "new/", {"create-name": "Daisy"})
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="id_create-name_error"' in page
    assert "already has a class called" in page
    assert flowers.classes.count() == 2


def test_a_name_the_service_refuses_is_an_error_beside_the_field(owner_client, flowers):
    response = owner_client.post(base(flowers) + "new/", {"create-name": "bell\x07ring"})
    assert 'id="id_create-name_error"' in response.content.decode()
    assert flowers.classes.count() == 2


def test_it_renames_a_class(owner_client, flowers):
    daisy = flowers.classes.get(name="daisy")
    assert "Rename “daisy”" in owner_client.get(f"{base(flowers)}{daisy.pk}/rename/").content.decode()
    response = owner_client.post(f"{base(flowers)}{daisy.pk}/rename/", {"name": "marguerite"})
    assert response.status_code == 302
    daisy.refresh_from_db()
    assert daisy.name == "marguerite"


def test_renaming_to_a_taken_name_is_an_error_beside_the_field(owner_client, flowers):
    daisy = flowers.classes.get(name="daisy")
    response = owner_client.post(f"{base(flowers)}{daisy.pk}/rename/", {"name": "rose"})
    assert 'id="id_name_error"' in response.content.decode()
    daisy.refresh_from_db()
    assert daisy.name == "daisy"


def test_it_merges_two_classes(owner_client, flowers):
    daisy, rose = flowers.classes.get(name="daisy"), flowers.classes.get(name="rose")
    response = owner_client.post(base(flowers) + "merge/", {"merge-source": rose.pk, "merge-target": daisy.pk})
    assert response.status_code == 302
    assert not DatasetClass.objects.filter(pk=rose.pk).exists()
    assert Image.objects.filter(dataset=flowers, label=daisy).count() == 5


def test_merging_a_class_into_itself_is_an_error_beside_the_field(owner_client, flowers):
    daisy = flowers.classes.get(name="daisy")
    response = owner_client.post(base(flowers) + "merge/", {"merge-source": daisy.pk, "merge-target": daisy.pk})
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="id_merge-target_error"' in page and "Choose a different class" in page


def test_deleting_a_class_can_keep_its_images_unlabelled(owner_client, flowers):
    rose = flowers.classes.get(name="rose")
    page = owner_client.get(f"{base(flowers)}{rose.pk}/delete/").content.decode()
    assert "It has 2 images" in page
    owner_client.post(f"{base(flowers)}{rose.pk}/delete/", {"images": "unlabel"})
    assert not flowers.classes.filter(name="rose").exists()
    assert Image.objects.filter(dataset=flowers, label__isnull=True).count() == 2


def test_deleting_a_class_can_delete_its_images(owner_client, flowers):
    rose = flowers.classes.get(name="rose")
    owner_client.post(f"{base(flowers)}{rose.pk}/delete/", {"images": "delete"})
    assert Image.objects.filter(dataset=flowers, deleted_at__isnull=True).count() == 3


def test_a_class_of_another_dataset_is_404(owner_client, owner, flowers):
    other = make_dataset(owner, "Other", classes=("x",))
    x = other.classes.get()
    assert owner_client.post(f"{base(flowers)}{x.pk}/delete/", {"images": "delete"}).status_code == 404
    assert owner_client.post(f"{base(flowers)}{x.pk}/rename/", {"name": "y"}).status_code == 404
    response = owner_client.post(base(flowers) + "merge/", {"merge-source": x.pk,
                                                           "merge-target": flowers.classes.first().pk})
    assert response.status_code == 400  # not a choice on this dataset
    assert DatasetClass.objects.filter(pk=x.pk, name="x").exists()


def test_outsiders_get_404(outsider, flowers):
    client = Client()
    client.force_login(outsider)
    rose = flowers.classes.get(name="rose")
    assert client.get(base(flowers)).status_code == 404
    assert client.post(base(flowers) + "new/", {"create-name": "x"}).status_code == 404
    assert client.post(base(flowers) + "merge/", {"merge-source": rose.pk,
                                                  "merge-target": rose.pk}).status_code == 404
    assert client.post(f"{base(flowers)}{rose.pk}/rename/", {"name": "x"}).status_code == 404
    assert client.post(f"{base(flowers)}{rose.pk}/delete/", {"images": "delete"}).status_code == 404
    assert flowers.classes.count() == 2
