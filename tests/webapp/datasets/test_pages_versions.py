"""Versions: freeze one, list them, see a version's counts, and download it as a streamed ImageFolder ZIP."""

import io
import zipfile

import pytest
from django.http import StreamingHttpResponse
from django.test import Client

from tests.webapp.datasets.page_helpers import add_images, make_dataset
from webapp.datasets.models import DatasetVersion
from webapp.datasets.services.bulk import relabel

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]  # files in a folder of its own


@pytest.fixture
def flowers(owner):
    dataset = make_dataset(owner, "Flowers", classes=("daisy", "rose"))
    add_images(dataset, 3, label=dataset.classes.get(name="daisy"), split="train")
    add_images(dataset, 2, label=dataset.classes.get(name="rose"), split="val", start=10)
    add_images(dataset, 1, start=20)  # unlabelled: left out of versions
    return dataset


def freeze(client, dataset, note=""):
    return client.post(f"/datasets/{dataset.pk}/versions/freeze/", {"note": note})


def test_it_freezes_a_version_and_shows_its_counts(owner_client, flowers):
    response = freeze(owner_client, flowers, note="first cut")
    assert response.status_code == 302
    assert response["Location"] == f"/datasets/{flowers.pk}/versions/1/"
    page = owner_client.get(response["Location"]).content.decode()
    assert "Version 1 frozen: 5 images." in page
    assert "first cut" in page
    assert '<td>daisy</td><td class="num">3</td><td class="num">0</td><td class="num">0</td>' in page
    assert "1 unlabelled image" in page


def test_freezing_an_unchanged_dataset_makes_no_new_version(owner_client, flowers):
    freeze(owner_client, flowers)
    response = freeze(owner_client, flowers)
    assert DatasetVersion.objects.filter(dataset=flowers).count() == 1
    assert "Nothing changed since version 1" in owner_client.get(response["Location"]).content.decode()


def test_freezing_nothing_is_an_error_on_the_page(owner_client, owner):
    empty = make_dataset(owner, "Empty")
    response = freeze(owner_client, empty)
    assert response.status_code == 400
    assert "Nothing to freeze" in response.content.decode()


def test_the_list_shows_versions_and_whether_the_dataset_changed(owner_client, flowers):
    freeze(owner_client, flowers)
    page = owner_client.get(f"/datasets/{flowers.pk}/versions/").content.decode()
    assert ">v1</strong>" in page and "Nothing changed since the last version" in page
    relabel(flowers, flowers.images.filter(label__isnull=True).values_list("pk", flat=True),
            flowers.classes.get(name="rose"))
    page = owner_client.get(f"/datasets/{flowers.pk}/versions/").content.decode()
    assert "The dataset changed since the last version" in page


def test_relabelling_later_never_changes_a_version(owner_client, flowers):
    freeze(owner_client, flowers)
    relabel(flowers, flowers.images.values_list("pk", flat=True), flowers.classes.get(name="rose"))
    page = owner_client.get(f"/datasets/{flowers.pk}/versions/1/").content.decode()
    assert '<td>daisy</td><td class="num">3</td>' in page


def test_the_download_is_a_streamed_imagefolder_zip(owner_client, flowers):
    freeze(owner_client, flowers)
    response = owner_client.get(f"/datasets/{flowers.pk}/versions/1/download/")
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == 'attachment; filename="Flowers-v1.zip"'
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    images = [n for n in archive.namelist() if n.endswith(".png")]
    assert len(images) == 5
    assert sum(n.startswith("train/daisy/") for n in images) == 3
    assert sum(n.startswith("val/rose/") for n in images) == 2


def test_an_unknown_version_is_404(owner_client, flowers):
    assert owner_client.get(f"/datasets/{flowers.pk}/versions/9/").status_code == 404
    assert owner_client.get(f"/datasets/{flowers.pk}/versions/9/download/").status_code == 404


def test_outsiders_get_404(owner_client, outsider, flowers):
    freeze(owner_client, flowers)
    client = Client()
    client.force_login(outsider)
    base = f"/datasets/{flowers.pk}/versions/"
    for url in (base, base + "1/", base + "1/download/"):
        assert client.get(url).status_code == 404, url
    assert freeze(client, flowers).status_code == 404
    assert DatasetVersion.objects.filter(dataset=flowers).count() == 1
