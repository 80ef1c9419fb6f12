"""/api/datasets/: create, list with counts, detail with health, rename, delete, auto-split."""

import pytest

from tests.webapp.datasets.conftest import jpeg
from webapp.datasets.models import Dataset
from webapp.datasets.services.ingest import add_image
from webapp.datasets.services.versions import freeze_version

pytestmark = pytest.mark.django_db


def test_it_creates_a_dataset_owned_by_the_caller(owner_api, owner):
    response = owner_api.post("/api/datasets/", {"name": " Flowers ", "description": "petals"}, format="json")
    assert response.status_code == 201
    assert response.json()["name"] == "Flowers" and response.json()["image_count"] == 0
    assert Dataset.objects.get().owner == owner


def test_it_refuses_a_second_dataset_with_the_same_name(owner_api, dataset):
    response = owner_api.post("/api/datasets/", {"name": "pets"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"name": ["You already have a dataset called 'pets'; choose another name."]}


def test_it_lists_datasets_with_counts(owner_api, dataset, cats, media):
    add_image(dataset, jpeg(1), name="a.jpg", label=cats)
    row = owner_api.get("/api/datasets/").json()["results"][0]
    assert (row["name"], row["image_count"], row["class_count"], row["version_count"]) == ("Pets", 1, 1, 0)


def test_the_detail_includes_health(owner_api, dataset, cats, media):
    add_image(dataset, jpeg(1), name="a.jpg", label=cats, split="train")
    body = owner_api.get(f"/api/datasets/{dataset.pk}/").json()
    assert body["health"]["per_split"]["train"] == 1
    assert body["health"]["classes"][0]["name"] == "cats"


def test_a_teammate_sees_the_dataset(api_client, teammate, dataset):
    api_client.force_authenticate(teammate)
    assert api_client.get(f"/api/datasets/{dataset.pk}/").status_code == 200


def test_it_renames_a_dataset(owner_api, dataset):
    response = owner_api.patch(f"/api/datasets/{dataset.pk}/", {"name": "Animals"}, format="json")
    assert response.status_code == 200 and Dataset.objects.get().name == "Animals"


def test_it_deletes_a_dataset_with_its_versions(owner_api, dataset, cats, owner, media):
    add_image(dataset, jpeg(1), name="a.jpg", label=cats, split="train")
    freeze_version(dataset, user=owner)
    assert owner_api.delete(f"/api/datasets/{dataset.pk}/").status_code == 204
    assert not Dataset.objects.exists()


def test_auto_split_answers_the_counts(owner_api, dataset, cats, media):
    for i in range(10):
        add_image(dataset, jpeg(i, size=8), name=f"{i}.jpg", label=cats)
    response = owner_api.post(f"/api/datasets/{dataset.pk}/auto-split/", {"train": 0.8, "val": 0.1, "test": 0.1,
                                                                          "seed": 5}, format="json")
    assert response.status_code == 200
    assert response.json() == {"train": 8, "val": 1, "test": 1, "images": 10, "groups": 1}


def test_auto_split_refuses_all_zero_ratios_with_json(owner_api, dataset):
    response = owner_api.post(f"/api/datasets/{dataset.pk}/auto-split/", {"train": 0, "val": 0, "test": 0},
                              format="json")
    assert response.status_code == 400
    assert response.json() == {"detail": "At least one split ratio must be above zero."}


def test_anonymous_callers_get_401(api_client, dataset):
    assert api_client.get("/api/datasets/").status_code == 401
    assert api_client.get(f"/api/datasets/{dataset.pk}/").status_code == 401


@pytest.mark.parametrize("method, path, body", [
    ("get", "/api/datasets/{pk}/", None),
    ("patch", "/api/datasets/{pk}/", {"name": "mine"}),
    ("put", "/api/datasets/{pk}/", {"name": "mine"}),
    ("delete", "/api/datasets/{pk}/", None),
    ("post", "/api/datasets/{pk}/auto-split/", {"train": 1}),
])
def test_an_outsider_gets_404(outsider_api, dataset, method, path, body):
    response = getattr(outsider_api, method)(path.format(pk=dataset.pk), body, format="json")
    assert response.status_code == 404
    assert response.json() == {"detail": "No Dataset matches the given query."} or "detail" in response.json()
    assert Dataset.objects.get().name == "Pets"


def test_an_outsider_lists_nothing(outsider_api, dataset):
    assert outsider_api.get("/api/datasets/").json()["results"] == []
