"""One image's page, its file and thumbnail (only through ownership-checking views), and editing it."""

import pytest
from django.test import Client

from tests.webapp.datasets.page_helpers import add_images, make_dataset, png
from webapp.datasets.models import Image
from webapp.datasets.services.bulk import delete_images, relabel
from webapp.datasets.services.versions import freeze_version

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]  # files in a folder of its own


@pytest.fixture
def flowers(owner):
    return make_dataset(owner, "Flowers", classes=("daisy", "rose"))


@pytest.fixture
def image(flowers):
    return add_images(flowers, 1, label=flowers.classes.get(name="daisy"), split="train", size=300)[0]


def url(image, suffix="") -> str:
    return f"/datasets/{image.dataset_id}/images/{image.pk}/{suffix}"


def test_it_shows_the_image_and_its_facts(owner_client, image):
    page = owner_client.get(url(image)).content.decode()
    assert f'src="{url(image, "file/")}"' in page
    assert "300 × 300 px" in page
    assert "PNG" in page
    assert image.sha256 in page
    assert "daisy" in page


def test_the_file_view_streams_the_stored_bytes(owner_client, image):
    response = owner_client.get(url(image, "file/"))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content) == png(0, 300)


def test_the_thumbnail_is_small(owner_client, image):
    from io import BytesIO

    from PIL import Image as PILImage

    response = owner_client.get(url(image, "thumbnail/"))
    assert response.status_code == 200
    thumb = PILImage.open(BytesIO(b"".join(response.streaming_content)))
    assert max(thumb.size) <= 256


def test_it_changes_the_class_and_split(owner_client, flowers, image):
    rose = flowers.classes.get(name="rose")
    response = owner_client.post(url(image), {"label": rose.pk, "split": "test"})
    assert response.status_code == 302
    image.refresh_from_db()
    assert (image.label, image.split) == (rose, "test")


def test_it_can_make_an_image_unlabelled(owner_client, image):
    owner_client.post(url(image), {"label": "none", "split": "train"})
    image.refresh_from_db()
    assert image.label is None


def test_it_lists_the_versions_that_used_it_with_the_class_they_gave_it(owner_client, owner, flowers, image):
    add_images(flowers, 1, label=flowers.classes.get(name="rose"), split="val", start=10)
    freeze_version(flowers, user=owner)
    relabel(flowers, [image.pk], flowers.classes.get(name="rose"))
    page = owner_client.get(url(image)).content.decode()
    assert f'href="/datasets/{flowers.pk}/versions/1/">v1</a>' in page
    assert "<td>daisy</td>" in page  # the class it had in v1, not its class now


def test_a_deleted_image_still_serves_its_file_for_the_versions_that_keep_it(owner_client, owner, flowers, image):
    freeze_version(flowers, user=owner)
    delete_images(flowers, [image.pk])
    assert Image.objects.get(pk=image.pk).deleted_at is not None
    assert owner_client.get(url(image)).status_code == 404
    assert owner_client.get(url(image, "file/")).status_code == 200


def test_an_image_of_another_dataset_is_404_under_this_one(owner_client, owner, image):
    other = make_dataset(owner, "Other")
    assert owner_client.get(f"/datasets/{other.pk}/images/{image.pk}/").status_code == 404
    assert owner_client.get(f"/datasets/{other.pk}/images/{image.pk}/file/").status_code == 404


def test_outsiders_get_404_on_the_page_the_file_and_the_thumbnail(outsider, image):
    client = Client()
    client.force_login(outsider)
    for suffix in ("", "file/", "thumbnail/"):
        assert client.get(url(image, suffix)).status_code == 404, suffix
    assert client.post(url(image), {"label": "none", "split": "test"}).status_code == 404
    image.refresh_from_db()
    assert image.split == "train"


def test_anonymous_visitors_cannot_fetch_files(client, image):
    assert client.get(url(image, "file/")).status_code == 302
