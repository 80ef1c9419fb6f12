"""/api/imports/: upload a ZIP, poll the import, page through its per-file report."""

import pytest

from tests import hostile_files as h
from tests.webapp.datasets.conftest import files_under, upload
from webapp.datasets.models import Import
from webapp.datasets.worker import import_archive

pytestmark = pytest.mark.django_db


def start(client, dataset, data: bytes, name: str = "pets.zip"):
    return client.post("/api/imports/", {"dataset": dataset.pk, "file": upload(name, data)}, format="multipart")


def test_creating_an_import_answers_202_with_the_id_to_poll(owner_api, dataset, media):
    response = start(owner_api, dataset, h.mixed_zip())
    assert response.status_code == 202
    body = response.json()
    assert (body["status"], body["total"], body["done"], body["kind"]) == ("queued", 7, 0, "archive")
    assert body["items_url"] == f"/api/imports/{body['id']}/items/"


def test_polling_shows_counts_and_the_report_pages_through_each_file(owner_api, dataset, media):
    job_id = start(owner_api, dataset, h.mixed_zip()).json()["id"]
    import_archive(job_id)  # what the worker does
    body = owner_api.get(f"/api/imports/{job_id}/").json()
    assert (body["status"], body["done"], body["accepted"], body["rejected"], body["progress"]) == (
        "succeeded", 7, 3, 4, 1.0)
    page = owner_api.get(f"/api/imports/{job_id}/items/?outcome=rejected").json()
    assert page["count"] == 4
    assert {r["name"]: r["reason"] for r in page["results"]} == {
        "cats/truncated.jpg": "truncated", "cats/notes.jpg": "not_an_image", "dogs/login.png": "not_an_image",
        "dogs/bomb.png": "too_many_pixels"}
    everything = owner_api.get(f"/api/imports/{job_id}/items/").json()
    assert everything["count"] == 7 and everything["results"][0]["name"] == "cats/good1.jpg"


def test_a_broken_zip_is_a_json_400_and_nothing_is_created(owner_api, dataset, media):
    response = start(owner_api, dataset, h.broken_zip())
    assert response.status_code == 400
    assert response.json() == {"detail": "The ZIP archive is damaged: its end is missing (was the upload cut short?)."}
    assert Import.objects.count() == 0 and files_under(media) == []


def test_a_rar_file_is_named_as_such(owner_api, dataset, media):
    response = start(owner_api, dataset, b"Rar!\x1a\x07\x00" + b"\0" * 64, name="pets.rar")
    assert response.json() == {"detail": "This file is not a ZIP archive: it looks like a RAR archive."}


def test_a_missing_file_is_a_json_400(owner_api, dataset):
    response = owner_api.post("/api/imports/", {"dataset": dataset.pk}, format="multipart")
    assert response.status_code == 400 and "file" in response.json()


def test_the_list_can_be_limited_to_one_dataset(owner_api, dataset, media):
    start(owner_api, dataset, h.imagefolder_zip())
    assert owner_api.get(f"/api/imports/?dataset={dataset.pk}").json()["count"] == 1


@pytest.mark.parametrize("method, path", [
    ("get", "/api/imports/?dataset={ds}"),
    ("get", "/api/imports/{job}/"),
    ("get", "/api/imports/{job}/items/"),
])
def test_an_outsider_gets_404(outsider_api, owner_api, dataset, media, method, path):
    job_id = start(owner_api, dataset, h.imagefolder_zip()).json()["id"]
    response = getattr(outsider_api, method)(path.format(ds=dataset.pk, job=job_id))
    assert response.status_code == 404


def test_an_outsider_cannot_import_into_the_dataset(outsider_api, dataset, media):
    assert start(outsider_api, dataset, h.imagefolder_zip()).status_code == 404
    assert Import.objects.count() == 0 and files_under(media) == []
