"""The data-check API: live near-duplicate reports, checks as jobs, and fixes of one group."""

import pytest

from webapp.datachecks.models import DataCheck
from webapp.datasets.models import Image

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(api_client, owner):
    api_client.force_authenticate(owner)
    return api_client


def test_the_report_lists_groups_and_says_what_leaks(api, leaky):
    body = api.get("/api/data-checks/duplicates/", {"dataset": leaky.pk}).json()
    assert body["threshold"] == 10
    assert body["counts"]["groups"] == 2 and body["counts"]["leaks"]["test_in_train"] == 1
    assert body["warnings"] == ["1 test image has a near-copy in train: test accuracy will look better than it is."]
    first = body["groups"][0]
    assert first["leaks"] is True
    assert {i["id"]: i["split"] for i in first["images"]} == {leaky.pics["a"].pk: "train",
                                                              leaky.pics["a_copy"].pk: "test"}


def test_the_report_of_a_version_uses_its_frozen_splits(api, owner, leaky):
    from webapp.datasets.services import bulk
    from webapp.datasets.services.versions import freeze_version

    version = freeze_version(leaky, user=owner)
    bulk.move_to_split(leaky, [leaky.pics["a_copy"].pk], "train")  # fixed since, but not in the version
    live = api.get("/api/data-checks/duplicates/", {"dataset": leaky.pk}).json()
    frozen = api.get("/api/data-checks/duplicates/", {"dataset": leaky.pk, "version": version.number}).json()
    assert live["counts"]["leaking_pairs"] == 0 and frozen["counts"]["leaking_pairs"] == 1


@pytest.mark.parametrize("bad", ["-1", "99", "text", "1.5", "9" * 30])
def test_a_bad_threshold_is_a_400_naming_it(api, leaky, bad):
    response = api.get("/api/data-checks/duplicates/", {"dataset": leaky.pk, "threshold": bad})
    assert response.status_code == 400 and "threshold" in response.json()
    response = api.post("/api/data-checks/", {"dataset": leaky.pk, "threshold": bad}, format="json")
    assert response.status_code == 400 and "threshold" in response.json()
    assert not DataCheck.objects.exists()


def test_an_outsiders_dataset_is_a_404(api_client, outsider, leaky):
    api_client.force_authenticate(outsider)
    assert api_client.get("/api/data-checks/duplicates/", {"dataset": leaky.pk}).status_code == 404
    assert api_client.post("/api/data-checks/", {"dataset": leaky.pk}, format="json").status_code == 404
    response = api_client.post("/api/data-checks/fix/", {"dataset": leaky.pk, "images": [leaky.pics["a"].pk,
                               leaky.pics["a_copy"].pk], "move": "train"}, format="json")
    assert response.status_code == 404
    assert Image.objects.get(pk=leaky.pics["a_copy"].pk).split == "test"


def test_a_missing_version_is_a_400(api, leaky):
    response = api.get("/api/data-checks/duplicates/", {"dataset": leaky.pk, "version": 7})
    assert response.status_code == 400 and "version" in response.json()


def test_a_check_is_queued_and_its_stored_result_read_back(api, leaky, owner, sent_checks,
                                                          django_capture_on_commit_callbacks):
    from webapp.datachecks.worker import run_check

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/data-checks/", {"dataset": leaky.pk, "threshold": 10}, format="json")
    assert response.status_code == 202
    check = response.json()
    assert check["status"] == "queued" and check["threshold"] == 10 and check["kind"] == "duplicates"
    assert sent_checks == [("default", DataCheck.objects.get(pk=check["id"]).task_id)]
    run_check(check["id"], worker="test", token=sent_checks[0][1])
    stored = api.get(f"/api/data-checks/{check['id']}/").json()
    assert stored["status"] == "succeeded" and stored["counts"]["leaking_pairs"] == 1
    assert stored["warnings"] == ["1 test image has a near-copy in train: test accuracy will look better than it is."]
    listed = api.get("/api/data-checks/", {"dataset": leaky.pk}).json()["results"]
    assert [c["id"] for c in listed] == [check["id"]]


def test_fixing_a_group_through_the_api(api, leaky):
    ids = [leaky.pics["a"].pk, leaky.pics["a_copy"].pk]
    response = api.post("/api/data-checks/fix/", {"dataset": leaky.pk, "images": ids, "move": "test",
                                                  "expected": {str(ids[0]): "train", str(ids[1]): "test"}},
                        format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["counts"]["leaking_pairs"] == 0
    assert "Moved 1 image to test" in response.json()["detail"]
    assert Image.objects.get(pk=ids[0]).split == "test"


@pytest.mark.parametrize("body", [
    {"images": "1,2", "move": "train"},
    {"images": [1], "move": "train"},
    {"images": ["x", 2], "move": "train"},
    {"move": "train"},
    {"images": [1, 2]},
    {"images": [1, 2], "move": "attic"},
    {"images": [1, 2], "move": "train", "keep": 1},
    {"images": [1, 2], "keep": "9" * 30},
    {"images": [1, 2], "move": "train", "expected": {"x": "train"}},
])
def test_a_malformed_fix_is_a_400(api, leaky, body):
    before = list(Image.objects.filter(dataset=leaky).order_by("pk").values_list("split", "deleted_at"))
    response = api.post("/api/data-checks/fix/", {"dataset": leaky.pk, **body}, format="json")
    assert response.status_code == 400, response.json()
    assert list(Image.objects.filter(dataset=leaky).order_by("pk").values_list("split", "deleted_at")) == before


def test_a_fix_on_a_deleted_or_moved_image_is_a_409(api, leaky):
    from webapp.datasets.services import bulk

    ids = [leaky.pics["a"].pk, leaky.pics["a_copy"].pk]
    bulk.move_to_split(leaky, [ids[1]], "val")
    moved = api.post("/api/data-checks/fix/", {"dataset": leaky.pk, "images": ids, "keep": ids[0],
                                               "expected": {str(ids[1]): "test"}}, format="json")
    assert moved.status_code == 409 and "moved to val" in moved.json()["detail"]
    bulk.delete_images(leaky, [ids[1]])
    deleted = api.post("/api/data-checks/fix/", {"dataset": leaky.pk, "images": ids, "move": "train"}, format="json")
    assert deleted.status_code == 409 and "deleted" in deleted.json()["detail"]
    assert Image.objects.get(pk=ids[0]).split == "train"


def test_the_endpoints_are_documented(api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    for path in ("/api/data-checks/", "/api/data-checks/{id}/", "/api/data-checks/duplicates/",
                 "/api/data-checks/fix/"):
        assert path in schema["paths"], path
    assert "409" in schema["paths"]["/api/data-checks/fix/"]["post"]["responses"]
