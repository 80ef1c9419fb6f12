"""/api/images/: list with the page's filters, multipart upload, change class or split, delete, bulk, files."""

import pytest
from django.utils.crypto import get_random_string
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests import hostile_files as h
from tests.webapp.datasets.conftest import files_under, jpeg, upload
from webapp.datasets.models import Image, Import
from webapp.datasets.services.ingest import add_image
from webapp.datasets.validation import RejectedFile, check_image

pytestmark = pytest.mark.django_db


@pytest.fixture
def some(dataset, cats, dogs, media):
    made = {
        "cat_train": add_image(dataset, jpeg(1), name="tabby.jpg", label=cats, split="train").image,
        "cat_val": add_image(dataset, jpeg(2), name="Tabby-2.jpg", label=cats, split="val").image,
        "dog": add_image(dataset, jpeg(3), name="rex.jpg", label=dogs, split="train").image,
        "loose": add_image(dataset, jpeg(4), name="unknown.jpg", label=None).image,
    }
    return made


def names(response) -> set[str]:
    return {row["original_name"] for row in response.json()["results"]}


def test_the_list_filters_like_the_browse_page(owner_api, dataset, cats, some):
    base = f"/api/images/?dataset={dataset.pk}"
    assert names(owner_api.get(base)) == {"tabby.jpg", "Tabby-2.jpg", "rex.jpg", "unknown.jpg"}
    assert names(owner_api.get(f"{base}&class={cats.pk}")) == {"tabby.jpg", "Tabby-2.jpg"}
    assert names(owner_api.get(f"{base}&class=none")) == {"unknown.jpg"}
    assert names(owner_api.get(f"{base}&split=train")) == {"tabby.jpg", "rex.jpg"}
    assert names(owner_api.get(f"{base}&status=unlabelled")) == {"unknown.jpg"}
    assert names(owner_api.get(f"{base}&status=labelled&search=TABBY")) == {"tabby.jpg", "Tabby-2.jpg"}


def test_a_bad_filter_is_a_json_400(owner_api, dataset, some):
    response = owner_api.get(f"/api/images/?dataset={dataset.pk}&split=holdout")
    assert response.status_code == 400
    assert response.json() == {"split": ['"holdout" is not a valid choice.']}
    response = owner_api.get(f"/api/images/?dataset={dataset.pk}&class=cats")
    assert response.status_code == 400
    assert response.json() == {"class": ["Must be a class id or `none`."]}


def test_the_list_query_count_does_not_grow_with_the_page_size(owner_api, dataset, cats, media,
                                                              django_assert_num_queries):
    for i in range(12):
        add_image(dataset, jpeg(i, size=8), name=f"{i}.jpg", label=cats)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = []
    for size in (2, 12):
        with CaptureQueriesContext(connection) as ctx:
            assert len(owner_api.get(f"/api/images/?dataset={dataset.pk}&page_size={size}").json()["results"]) == size
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]


@pytest.mark.parametrize("name", sorted(h.REJECTED))
def test_each_hostile_upload_gets_its_exact_rejection_message(owner_api, dataset, cats, media, name):
    data = h.REJECTED[name][0]()
    with pytest.raises(RejectedFile) as expected:
        check_image(data)
    response = owner_api.post("/api/images/", {"dataset": dataset.pk, "label": cats.pk, "files": [upload(name, data)]},
                              format="multipart")
    assert response.status_code == 201
    (result,) = response.json()["files"]
    assert result == {"name": name, "outcome": "rejected", "reason": expected.value.reason,
                      "message": expected.value.message, "image": None, "existing": None}
    assert Image.objects.count() == 0 and files_under(media) == []


def test_an_upload_of_many_files_reports_each_file(owner_api, dataset, cats, media):
    files = [upload(f"{i}.jpg", jpeg(i)) for i in range(3)] + [upload("again.jpg", jpeg(0)),
                                                                upload("notes.jpg", h.text_file())]
    response = owner_api.post("/api/images/", {"dataset": dataset.pk, "label": cats.pk, "split": "val",
                                               "files": files}, format="multipart")
    body = response.json()
    assert (body["accepted"], body["duplicates"], body["rejected"]) == (3, 1, 1)
    assert [f["outcome"] for f in body["files"]] == ["accepted"] * 3 + ["duplicate", "rejected"]
    assert body["files"][3]["existing"] == body["files"][0]["image"]
    assert set(Image.objects.values_list("split", "label__name")) == {("val", "cats")}
    batch = Import.objects.get(pk=body["import_id"])
    assert (batch.kind, batch.status, batch.items.count()) == ("upload", "succeeded", 5)


def test_an_upload_without_a_class_is_unlabelled(owner_api, dataset, media):
    response = owner_api.post("/api/images/", {"dataset": dataset.pk, "files": [upload("a.jpg", jpeg(1))]},
                              format="multipart")
    assert response.status_code == 201 and Image.objects.get().label is None


def test_an_upload_into_a_class_of_another_dataset_changes_nothing(owner_api, dataset, owner, media):
    from webapp.datasets.models import Dataset
    from webapp.datasets.services.classes import create_class

    foreign = create_class(Dataset.objects.create(owner=owner, name="Other"), "x")
    response = owner_api.post("/api/images/", {"dataset": dataset.pk, "label": foreign.pk,
                                               "files": [upload("a.jpg", jpeg(1))]}, format="multipart")
    assert response.status_code == 400 and "has no class" in response.json()["label"]
    assert Image.objects.count() == 0 and Import.objects.count() == 0 and files_under(media) == []


def too_many_files() -> list:
    return [upload(f"{i}.jpg", b"x") for i in range(101)]


def test_101_files_by_token_get_a_clear_json_400_and_change_nothing(dataset, owner, media):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=owner).key}")
    response = client.post("/api/images/", {"dataset": dataset.pk, "files": too_many_files()}, format="multipart")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Too many files in one request: send at most 100 files per request."}
    assert Import.objects.count() == 0 and files_under(media) == []


def test_101_files_in_a_signed_in_session_get_the_same_json_400(dataset, owner, media):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(owner)
    secret = get_random_string(32)  # a CSRF cookie and header as the page's fetch() sends them
    client.cookies["csrftoken"] = secret
    response = client.post("/api/images/", {"dataset": dataset.pk, "files": too_many_files()}, format="multipart",
                           HTTP_X_CSRFTOKEN=secret)
    assert response.status_code == 400
    assert response.json() == {"detail": "Too many files in one request: send at most 100 files per request."}
    assert Import.objects.count() == 0
    # The same session and CSRF token are good for a batch of 100.
    response = client.post("/api/images/", {"dataset": dataset.pk, "files": too_many_files()[:100]},
                           format="multipart", HTTP_X_CSRFTOKEN=secret)
    assert response.status_code == 201 and response.json()["rejected"] == 100


def test_a_patch_changes_class_and_split(owner_api, dogs, some):
    image = some["cat_train"]
    response = owner_api.patch(f"/api/images/{image.pk}/", {"label": dogs.pk, "split": "test"}, format="json")
    assert response.status_code == 200
    assert (response.json()["label_name"], response.json()["split"]) == ("dogs", "test")
    response = owner_api.patch(f"/api/images/{image.pk}/", {"label": None}, format="json")
    assert response.json()["label"] is None


def test_a_patch_with_a_bad_split_is_a_json_400(owner_api, some):
    response = owner_api.patch(f"/api/images/{some['dog'].pk}/", {"split": "holdout"}, format="json")
    assert response.status_code == 400 and "split" in response.json()


def test_delete_removes_the_image(owner_api, some):
    assert owner_api.delete(f"/api/images/{some['dog'].pk}/").status_code == 204
    assert not Image.objects.filter(pk=some["dog"].pk).exists()


def test_bulk_actions_change_many_images(owner_api, dataset, dogs, some):
    ids = [some["cat_train"].pk, some["cat_val"].pk]
    response = owner_api.post("/api/images/bulk/", {"dataset": dataset.pk, "action": "relabel", "ids": ids,
                                                    "label": dogs.pk}, format="json")
    assert response.json() == {"changed": 2}
    owner_api.post("/api/images/bulk/", {"dataset": dataset.pk, "action": "move", "ids": ids, "split": "test"},
                   format="json")
    assert set(Image.objects.filter(pk__in=ids).values_list("label__name", "split")) == {("dogs", "test")}
    owner_api.post("/api/images/bulk/", {"dataset": dataset.pk, "action": "delete", "ids": ids}, format="json")
    assert Image.objects.count() == 2


def test_the_file_and_thumbnail_download_for_any_accept_header(owner_api, some):
    image = some["dog"]
    response = owner_api.get(f"/api/images/{image.pk}/content/", HTTP_ACCEPT="image/avif,image/webp,*/*")
    assert response.status_code == 200 and b"".join(response.streaming_content) == jpeg(3)
    assert owner_api.get(f"/api/images/{image.pk}/thumbnail/", HTTP_ACCEPT="image/*").status_code == 200


@pytest.mark.parametrize("method, path, body", [
    ("get", "/api/images/?dataset={ds}", None),
    ("get", "/api/images/{img}/", None),
    ("patch", "/api/images/{img}/", {"split": "test"}),
    ("delete", "/api/images/{img}/", None),
    ("get", "/api/images/{img}/content/", None),
    ("get", "/api/images/{img}/thumbnail/", None),
    ("post", "/api/images/bulk/", {"dataset": "{ds}", "action": "delete", "ids": ["{img}"]}),
])
def test_an_outsider_gets_404(outsider_api, dataset, some, method, path, body):
    image = some["dog"]
    fill = lambda v: v.format(ds=dataset.pk, img=image.pk) if isinstance(v, str) else v  # noqa: E731
    body = {k: ([fill(x) for x in v] if isinstance(v, list) else fill(v)) for k, v in body.items()} if body else None
    response = getattr(outsider_api, method)(fill(path), body, format="json")
    assert response.status_code == 404
    assert Image.objects.get(pk=image.pk).split == "train"


def test_an_outsider_cannot_upload_into_the_dataset(outsider_api, dataset, media):
    response = outsider_api.post("/api/images/", {"dataset": dataset.pk, "files": [upload("a.jpg", jpeg(1))]},
                                 format="multipart")
    assert response.status_code == 404
    assert Image.objects.count() == 0 and files_under(media) == []


def test_an_outsider_listing_everything_sees_nothing(outsider_api, some):
    assert outsider_api.get("/api/images/").json()["results"] == []
