"""The upload page and its JSON endpoint: batches of files, one outcome per file, clear JSON errors."""

import pytest
from django.test import Client

from tests.hostile_files import text_file, truncated_jpeg
from tests.webapp.datasets.page_helpers import make_dataset, png, upload
from webapp.datasets.models import Image

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]  # files in a folder of its own


@pytest.fixture
def flowers(owner):
    return make_dataset(owner, "Flowers", classes=("daisy", "rose"))


def endpoint(dataset) -> str:
    return f"/datasets/{dataset.pk}/upload/files/"


def test_the_page_has_a_drop_zone_and_says_the_batch_size(owner_client, flowers):
    page = owner_client.get(f"/datasets/{flowers.pk}/upload/").content.decode()
    assert 'id="dropzone"' in page
    assert 'type="file" multiple' in page
    assert 'data-max-files="100"' in page
    assert f'action="{endpoint(flowers)}"' in page
    assert ">daisy</option>" in page and ">Unlabelled</option>" in page


def test_it_stores_a_batch_into_a_class_and_split_and_reports_each_file(owner_client, flowers):
    daisy = flowers.classes.get(name="daisy")
    files = [upload("a.png", png(1)), upload("b.png", png(2)), upload("a copy.png", png(1)),
             upload("notes.jpg", text_file(), "image/jpeg"), upload("cut.jpg", truncated_jpeg(), "image/jpeg")]
    response = owner_client.post(endpoint(flowers), {"label": daisy.pk, "split": "train", "files": files})
    assert response.status_code == 200
    body = response.json()
    outcomes = {f["name"]: f for f in body["files"]}
    assert [f["name"] for f in body["files"]] == ["a.png", "b.png", "a copy.png", "notes.jpg", "cut.jpg"]
    assert outcomes["a.png"]["outcome"] == "accepted"
    assert outcomes["a copy.png"]["outcome"] == "duplicate"
    assert outcomes["a copy.png"]["image"]["name"] == "a.png"  # says which image it duplicates
    assert outcomes["notes.jpg"]["outcome"] == "rejected" and "not an image" in outcomes["notes.jpg"]["message"]
    assert outcomes["cut.jpg"]["outcome"] == "rejected" and "truncated" in outcomes["cut.jpg"]["message"]
    assert body["counts"] == {"accepted": 2, "duplicate": 1, "conflict": 0, "rejected": 2, "skipped": 0}
    stored = Image.objects.filter(dataset=flowers)
    assert stored.count() == 2
    assert set(stored.values_list("label__name", "split")) == {("daisy", "train")}
    accepted = outcomes["a.png"]["image"]
    assert owner_client.get(accepted["thumbnail"]).status_code == 200


def test_unlabelled_is_a_choice(owner_client, flowers):
    owner_client.post(endpoint(flowers), {"label": "none", "split": "unassigned", "files": [upload("a.png", png(1))]})
    assert Image.objects.get(dataset=flowers).label is None


def test_the_same_bytes_in_another_class_is_a_conflict(owner_client, flowers):
    daisy, rose = flowers.classes.all()
    owner_client.post(endpoint(flowers), {"label": daisy.pk, "split": "train", "files": [upload("a.png", png(1))]})
    body = owner_client.post(endpoint(flowers), {"label": rose.pk, "split": "train",
                                                 "files": [upload("a2.png", png(1))]}).json()
    assert body["files"][0]["outcome"] == "conflict"
    assert Image.objects.filter(dataset=flowers).count() == 1


def test_101_files_get_a_clear_json_error_not_an_html_page(owner_client, flowers):
    files = [upload(f"{i}.png", png(i)) for i in range(101)]
    response = owner_client.post(endpoint(flowers), {"label": "none", "split": "train", "files": files})
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert "at most 100 files" in body["error"]
    assert body["max_files"] == 100
    assert not Image.objects.filter(dataset=flowers).exists()


def test_100_files_are_fine(owner_client, flowers):
    files = [upload(f"{i}.png", png(i, size=8)) for i in range(100)]
    response = owner_client.post(endpoint(flowers), {"label": "none", "split": "train", "files": files})
    assert response.status_code == 200
    assert response.json()["counts"]["accepted"] == 100


def test_a_missing_csrf_token_is_a_json_403(owner, flowers):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    response = client.post(endpoint(flowers), {"label": "none", "split": "train", "files": [upload("a.png", png(1))]})
    assert response.status_code == 403
    assert "reload the page" in response.json()["error"]
    assert not Image.objects.filter(dataset=flowers).exists()


def test_the_csrf_header_the_page_sends_is_accepted(owner, flowers):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    client.get(f"/datasets/{flowers.pk}/upload/")  # sets the CSRF cookie, as the browser gets it
    token = client.cookies["csrftoken"].value
    response = client.post(endpoint(flowers), {"label": "none", "split": "train", "files": [upload("a.png", png(1))]},
                           HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200
    assert response.json()["counts"]["accepted"] == 1


def test_101_files_from_the_page_with_csrf_checks_on_still_get_json(owner, flowers):
    """The CSRF middleware reads the body first; the endpoint must still answer JSON, as the browser sees it."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    client.get(f"/datasets/{flowers.pk}/upload/")
    files = [upload(f"{i}.png", png(i)) for i in range(101)]
    response = client.post(endpoint(flowers), {"label": "none", "split": "train", "files": files},
                           HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)
    assert response.status_code == 400
    assert "at most 100 files" in response.json()["error"]


def test_a_class_of_another_dataset_is_refused(owner_client, owner, flowers):
    other = make_dataset(owner, "Other", classes=("x",))
    response = owner_client.post(endpoint(flowers), {"label": other.classes.get().pk, "split": "train",
                                                     "files": [upload("a.png", png(1))]})
    assert response.status_code == 400
    assert "label" in response.json()["fields"]
    assert not Image.objects.exists()


def test_no_files_is_a_json_error(owner_client, flowers):
    response = owner_client.post(endpoint(flowers), {"label": "none", "split": "train"})
    assert response.status_code == 400
    assert "No files" in response.json()["error"]


def test_get_is_not_allowed_on_the_endpoint(owner_client, flowers):
    assert owner_client.get(endpoint(flowers)).status_code == 405


def test_outsiders_get_404(outsider_client, flowers):
    assert outsider_client.get(f"/datasets/{flowers.pk}/upload/").status_code == 404
    response = outsider_client.post(endpoint(flowers), {"label": "none", "split": "train",
                                                        "files": [upload("a.png", png(1))]})
    assert response.status_code == 404
    assert not Image.objects.exists()


def test_anonymous_uploads_are_sent_to_sign_in(client, flowers):
    response = client.post(endpoint(flowers), {"label": "none", "split": "train", "files": [upload("a.png", png(1))]})
    assert response.status_code == 302
    assert not Image.objects.exists()
