"""The ZIP import pages: upload a ZIP, watch its progress as JSON, read the per-file report."""

import time

import pytest
from django.test import Client

from tests.hostile_files import broken_zip, text_file, zip_of
from tests.webapp.datasets.page_helpers import make_dataset, png, upload
from webapp.datasets.models import Image, Import, ImportStatus
from webapp.datasets.views.imports import REPORT_PAGE_SIZE
from webapp.datasets.worker import import_archive


@pytest.fixture
def flowers(owner):
    return make_dataset(owner, "Flowers")


def garden_zip() -> bytes:
    files = {f"daisy/{i}.png": png(i) for i in range(3)}
    files.update({"rose/r.png": png(50), "rose/notes.txt": text_file(), "__MACOSX/._junk": b"x"})
    return zip_of(files)


def post_zip(client, dataset, data: bytes, name="garden.zip"):
    return client.post(f"/datasets/{dataset.pk}/imports/new/", {"archive": upload(name, data, "application/zip")})


@pytest.mark.django_db
@pytest.mark.usefixtures("media")
def test_the_page_explains_the_zip_layout(owner_client, flowers):
    page = owner_client.get(f"/datasets/{flowers.pk}/imports/new/").content.decode()
    assert 'enctype="multipart/form-data"' in page
    assert "labels.csv" in page and "train/cats/003.jpg" in page


@pytest.mark.django_db
@pytest.mark.usefixtures("media")
def test_a_zip_is_queued_and_the_status_page_follows(owner_client, flowers):
    response = post_zip(owner_client, flowers, garden_zip())
    job = Import.objects.get(dataset=flowers)
    assert response.status_code == 302
    assert response["Location"] == f"/datasets/{flowers.pk}/imports/{job.pk}/"
    assert job.status == ImportStatus.QUEUED and job.original_name == "garden.zip"
    page = owner_client.get(response["Location"]).content.decode()
    assert 'role="progressbar"' in page
    assert f'data-status-url="/datasets/{flowers.pk}/imports/{job.pk}/status/"' in page
    assert "Waiting for a worker" in page


@pytest.mark.django_db
@pytest.mark.usefixtures("media")
def test_a_file_that_is_not_a_zip_is_an_error_beside_the_field(owner_client, flowers):
    response = post_zip(owner_client, flowers, b"just some text, not a zip", name="notes.zip")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="id_archive_error"' in page
    assert not Import.objects.exists()


@pytest.mark.django_db
@pytest.mark.usefixtures("media")
def test_a_broken_zip_is_an_error_beside_the_field(owner_client, flowers):
    response = post_zip(owner_client, flowers, broken_zip())
    assert 'id="id_archive_error"' in response.content.decode()
    assert not Import.objects.exists()


@pytest.mark.django_db
@pytest.mark.usefixtures("media")
def test_the_status_endpoint_reports_counts_and_the_report_lists_each_file(owner_client, flowers):
    post_zip(owner_client, flowers, garden_zip())
    job = Import.objects.get(dataset=flowers)
    url = f"/datasets/{flowers.pk}/imports/{job.pk}/"
    queued = owner_client.get(url + "status/").json()
    assert queued["status"] == "queued" and queued["finished"] is False and queued["done"] == 0
    import_archive(job.pk)  # what the worker runs
    status = owner_client.get(url + "status/").json()
    assert status["finished"] is True and status["status"] == "succeeded"
    assert (status["accepted"], status["rejected"], status["percent"]) == (4, 1, 100.0)
    page = owner_client.get(url).content.decode()
    assert "rose/notes.txt" in page and "not an image" in page
    assert "daisy/0.png" in page
    rejected_only = owner_client.get(url + "?outcome=rejected").content.decode()
    assert "rose/notes.txt" in rejected_only and "daisy/0.png" not in rejected_only
    assert Image.objects.filter(dataset=flowers, label__name="daisy").count() == 3


@pytest.mark.django_db
@pytest.mark.usefixtures("media")
def test_the_report_is_paginated(owner_client, flowers):
    files = {f"c/{i}.png": png(i, size=8) for i in range(REPORT_PAGE_SIZE + 5)}
    post_zip(owner_client, flowers, zip_of(files))
    job = Import.objects.get(dataset=flowers)
    import_archive(job.pk)
    url = f"/datasets/{flowers.pk}/imports/{job.pk}/"
    first = owner_client.get(url).content.decode()
    assert first.count('<span class="status accepted">') == REPORT_PAGE_SIZE
    assert "Page 1 of 2" in first
    second = owner_client.get(url + "?page=2").content.decode()
    assert second.count('<span class="status accepted">') == 5


@pytest.mark.django_db
@pytest.mark.usefixtures("media")
def test_outsiders_get_404_everywhere(owner_client, outsider, flowers):
    post_zip(owner_client, flowers, garden_zip())
    job = Import.objects.get(dataset=flowers)
    outsider_client = Client()
    outsider_client.force_login(outsider)
    base = f"/datasets/{flowers.pk}/imports/"
    assert outsider_client.get(base + "new/").status_code == 404
    assert outsider_client.get(f"{base}{job.pk}/").status_code == 404
    assert outsider_client.get(f"{base}{job.pk}/status/").status_code == 404
    assert post_zip(outsider_client, flowers, garden_zip()).status_code == 404
    assert Import.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.usefixtures("media")
def test_an_import_of_another_dataset_is_404(owner_client, owner, flowers):
    other = make_dataset(owner, "Other")
    post_zip(owner_client, other, garden_zip())
    job = Import.objects.get(dataset=other)
    assert owner_client.get(f"/datasets/{flowers.pk}/imports/{job.pk}/").status_code == 404


@pytest.mark.slow
def test_a_real_worker_imports_the_zip(worker, owner, client):
    client.force_login(owner)
    flowers = make_dataset(owner, "Flowers")
    post_zip(client, flowers, garden_zip())
    job = Import.objects.get(dataset=flowers)
    deadline = time.monotonic() + 60
    status = {}
    while time.monotonic() < deadline:
        status = client.get(f"/datasets/{flowers.pk}/imports/{job.pk}/status/").json()
        if status["finished"]:
            break
        time.sleep(0.3)
    assert status.get("status") == "succeeded", (status, worker.log()[-3000:])
    assert status["accepted"] == 4 and status["rejected"] == 1
