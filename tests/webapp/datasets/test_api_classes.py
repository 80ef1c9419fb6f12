"""/api/classes/: list per dataset, create, rename, merge, delete."""

import pytest

from tests.webapp.datasets.conftest import jpeg
from webapp.datasets.models import DatasetClass, Image
from webapp.datasets.services.ingest import add_image

pytestmark = pytest.mark.django_db


def test_it_lists_a_datasets_classes_in_order_with_image_counts(owner_api, dataset, cats, dogs, media):
    add_image(dataset, jpeg(1), name="a.jpg", label=dogs)
    body = owner_api.get(f"/api/classes/?dataset={dataset.pk}").json()
    assert [(c["name"], c["position"], c["image_count"]) for c in body["results"]] == [("cats", 0, 0), ("dogs", 1, 1)]


def test_it_creates_a_class(owner_api, dataset):
    response = owner_api.post("/api/classes/", {"dataset": dataset.pk, "name": "birds"}, format="json")
    assert response.status_code == 201
    assert response.json()["name"] == "birds" and response.json()["image_count"] == 0


def test_it_refuses_a_duplicate_class_name_with_json(owner_api, dataset, cats):
    response = owner_api.post("/api/classes/", {"dataset": dataset.pk, "name": "cats"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"detail": "There is already a class named 'cats'."}


def test_it_renames_a_class(owner_api, cats):
    response = owner_api.patch(f"/api/classes/{cats.pk}/", {"name": "kittens"}, format="json")
    assert response.status_code == 200 and DatasetClass.objects.get(pk=cats.pk).name == "kittens"


def test_it_merges_a_class_into_another(owner_api, dataset, cats, dogs, media):
    add_image(dataset, jpeg(1), name="a.jpg", label=cats)
    response = owner_api.post(f"/api/classes/{cats.pk}/merge/", {"into": dogs.pk}, format="json")
    assert response.status_code == 200 and response.json()["image_count"] == 1
    assert not DatasetClass.objects.filter(pk=cats.pk).exists()


def test_it_deletes_a_class_leaving_images_unlabelled_unless_asked(owner_api, dataset, cats, dogs, media):
    add_image(dataset, jpeg(1), name="a.jpg", label=cats)
    add_image(dataset, jpeg(2), name="b.jpg", label=dogs)
    assert owner_api.delete(f"/api/classes/{cats.pk}/").status_code == 204
    assert Image.objects.filter(label__isnull=True).count() == 1
    assert owner_api.delete(f"/api/classes/{dogs.pk}/?delete_images=true").status_code == 204
    assert Image.objects.count() == 1


@pytest.mark.parametrize("method, path, body", [
    ("get", "/api/classes/?dataset={ds}", None),
    ("get", "/api/classes/{cls}/", None),
    ("post", "/api/classes/", {"dataset": "{ds}", "name": "x"}),
    ("patch", "/api/classes/{cls}/", {"name": "x"}),
    ("post", "/api/classes/{cls}/merge/", {"into": "{cls}"}),
    ("delete", "/api/classes/{cls}/", None),
])
def test_an_outsider_gets_404(outsider_api, dataset, cats, method, path, body):
    fill = lambda v: v.format(ds=dataset.pk, cls=cats.pk) if isinstance(v, str) else v  # noqa: E731
    body = {k: fill(v) for k, v in body.items()} if body else None
    response = getattr(outsider_api, method)(fill(path), body, format="json")
    assert response.status_code == 404
    assert DatasetClass.objects.get().name == "cats"
