"""/api/versions/: freeze, list, detail with counts, export as a streamed ZIP."""

import io
import zipfile

import pytest

from tests.webapp.datasets.conftest import jpeg
from webapp.datasets.models import DatasetVersion
from webapp.datasets.services.ingest import add_image

pytestmark = pytest.mark.django_db


@pytest.fixture
def labelled(dataset, cats, dogs, media):
    add_image(dataset, jpeg(1), name="a.jpg", label=cats, split="train")
    add_image(dataset, jpeg(2), name="b.jpg", label=dogs, split="val")
    return dataset


def test_freezing_answers_201_then_200_with_the_same_version_while_nothing_changed(owner_api, labelled):
    first = owner_api.post("/api/versions/", {"dataset": labelled.pk, "note": "baseline"}, format="json")
    assert first.status_code == 201
    assert (first.json()["number"], first.json()["class_names"], first.json()["counts"]["total"]) == (
        1, ["cats", "dogs"], 2)
    again = owner_api.post("/api/versions/", {"dataset": labelled.pk}, format="json")
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]


def test_freezing_nothing_is_a_json_400(owner_api, dataset):
    response = owner_api.post("/api/versions/", {"dataset": dataset.pk}, format="json")
    assert response.status_code == 400
    assert response.json() == {"detail": "Nothing to freeze: no image has both a class and a train, val or test "
                                         "split."}


def test_list_and_detail_show_counts(owner_api, labelled):
    version_id = owner_api.post("/api/versions/", {"dataset": labelled.pk}, format="json").json()["id"]
    assert owner_api.get(f"/api/versions/?dataset={labelled.pk}").json()["count"] == 1
    detail = owner_api.get(f"/api/versions/{version_id}/").json()
    assert detail["counts"]["per_split"] == {"train": 1, "val": 1, "test": 0}


def test_export_streams_an_imagefolder_zip(owner_api, labelled):
    version_id = owner_api.post("/api/versions/", {"dataset": labelled.pk}, format="json").json()["id"]
    response = owner_api.get(f"/api/versions/{version_id}/export/", HTTP_ACCEPT="application/zip")
    assert response.status_code == 200 and response.streaming
    assert response["Content-Disposition"] == 'attachment; filename="Pets-v1.zip"'
    with zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))) as zf:
        assert sorted(n.rsplit("/", 1)[0] for n in zf.namelist() if "/" in n) == ["train/cats", "val/dogs"]


def test_versions_cannot_be_changed_or_deleted(owner_api, labelled):
    version_id = owner_api.post("/api/versions/", {"dataset": labelled.pk}, format="json").json()["id"]
    assert owner_api.patch(f"/api/versions/{version_id}/", {"note": "x"}, format="json").status_code == 405
    assert owner_api.delete(f"/api/versions/{version_id}/").status_code == 405
    assert DatasetVersion.objects.count() == 1


@pytest.mark.parametrize("method, path, body", [
    ("get", "/api/versions/?dataset={ds}", None),
    ("get", "/api/versions/{v}/", None),
    ("get", "/api/versions/{v}/export/", None),
    ("post", "/api/versions/", {"dataset": "{ds}"}),
])
def test_an_outsider_gets_404(outsider_api, owner_api, labelled, method, path, body):
    version_id = owner_api.post("/api/versions/", {"dataset": labelled.pk}, format="json").json()["id"]
    fill = lambda v: v.format(ds=labelled.pk, v=version_id)  # noqa: E731
    body = {k: fill(v) for k, v in body.items()} if body else None
    response = getattr(outsider_api, method)(fill(path), body, format="json")
    assert response.status_code == 404
    assert DatasetVersion.objects.count() == 1
