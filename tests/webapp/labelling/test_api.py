"""The labelling REST API: pre-label jobs, suggestions, queue order, labels with origin, bulk accept and undo."""

import pytest

from tests.webapp.labelling.conftest import UNLABELLED_COUNT, suggest

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(api_client, owner):
    api_client.force_login(owner)
    return api_client


@pytest.fixture
def suggested(pets, finished_job):
    images = list(pets.images.filter(label__isnull=True).order_by("pk"))
    for image, (name, p) in zip(images, [("red", .99), ("red", .97), ("red", .6), ("green", .9), ("blue", .55),
                                         ("blue", .52)], strict=True):
        suggest(finished_job, image, name, p)
    return images


def test_start_follow_and_cancel_a_prelabel_job(api, pets, suggesting_run, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        made = api.post("/api/labelling/prelabel-jobs/", {"dataset": pets.pk, "model": f"run:{suggesting_run.pk}"},
                        format="json")
    assert made.status_code == 201, made.json()
    job = made.json()
    assert (job["status"], job["total"], job["model_ref"]) == ("queued", UNLABELLED_COUNT, f"run:{suggesting_run.pk}")
    assert api.get(f"/api/labelling/prelabel-jobs/{job['id']}/").json()["status"] == "queued"
    assert api.get("/api/labelling/prelabel-jobs/", {"dataset": pets.pk}).json()["count"] == 1
    with django_capture_on_commit_callbacks(execute=False):
        twice = api.post("/api/labelling/prelabel-jobs/", {"dataset": pets.pk, "model": f"run:{suggesting_run.pk}"},
                         format="json")
    assert twice.status_code == 409 and "already running" in twice.json()["detail"]
    assert api.post(f"/api/labelling/prelabel-jobs/{job['id']}/cancel/").json()["status"] == "cancelled"
    assert api.post(f"/api/labelling/prelabel-jobs/{job['id']}/cancel/").status_code == 409


@pytest.mark.parametrize("body", [{}, {"dataset": "x", "model": "run:1"}, {"dataset": 1, "model": 3},
                                  {"dataset": 1, "model": "run:1", "top_k": 0}])
def test_bad_prelabel_bodies_are_400s(api, pets, body):
    body = {k: (pets.pk if k == "dataset" and v == 1 else v) for k, v in body.items()}
    assert api.post("/api/labelling/prelabel-jobs/", body, format="json").status_code == 400


def test_a_model_matching_no_class_is_refused_by_the_api(api, owner, pets):
    from tests.factories import make_version, saved_run

    run = saved_run(owner, make_version(owner, name="Pets", classes=("cat", "dog"), per_split={"train": 1}))
    answer = api.post("/api/labelling/prelabel-jobs/", {"dataset": pets.pk, "model": f"run:{run.pk}"}, format="json")
    assert answer.status_code == 400 and "match none of this dataset's" in answer.json()["model"][0]


def test_suggestions_filter_and_order(api, pets, suggested, finished_job):
    red = pets.classes.get(name="red")
    rows = api.get("/api/labelling/suggestions/", {"dataset": pets.pk, "order": "confidence"}).json()["results"]
    assert [r["confidence"] for r in rows] == [.99, .97, .9, .6, .55, .52]
    reds = api.get("/api/labelling/suggestions/", {"dataset": pets.pk, "label": red.pk, "min_confidence": .9}).json()
    assert reds["count"] == 2 and {r["label_name"] for r in reds["results"]} == {"red"}
    unsure = api.get("/api/labelling/suggestions/", {"dataset": pets.pk, "max_confidence": .56}).json()["results"]
    assert [r["confidence"] for r in unsure] == [.52, .55]  # smallest margin first
    for bad in ({}, {"dataset": pets.pk, "order": "x"}, {"dataset": pets.pk, "min_confidence": 2},
                {"dataset": pets.pk, "job": 999999}, {"dataset": pets.pk, "label": 999999}):
        assert api.get("/api/labelling/suggestions/", bad).status_code == 400, bad


def test_queue_in_order_then_accept_a_suggestion_with_its_origin(api, pets, suggested, finished_job):
    answer = api.get("/api/labelling/queue/", {"dataset": pets.pk, "order": "confidence"}).json()
    assert [e["id"] for e in answer["images"]][:2] == [suggested[0].pk, suggested[1].pk]
    assert answer["model"] == finished_job.model_ref and answer["remaining"] == UNLABELLED_COUNT
    first = answer["images"][0]
    body = {"dataset": pets.pk, "image": first["id"], "label": first["suggestion"]["label"], "origin": "suggestion",
            "model": first["suggestion"]["model"]}
    made = api.post("/api/labelling/labels/", body, format="json")
    assert made.status_code == 201 and made.json()["origin"] == "suggestion"
    assert made.json()["model_ref"] == finished_job.model_ref
    again = api.post("/api/labelling/labels/", body, format="json")
    assert again.status_code == 409 and "labelled meanwhile" in again.json()["detail"]
    undo = api.post(f"/api/labelling/labels/{made.json()['id']}/undo/")
    assert undo.status_code == 200 and undo.json()["undone_at"]
    assert api.post(f"/api/labelling/labels/{made.json()['id']}/undo/").status_code == 409
    assert api.get("/api/labelling/labels/", {"dataset": pets.pk}).json()["count"] == 1
    assert api.get("/api/labelling/queue/", {"dataset": pets.pk, "order": "x"}).status_code == 400


def test_bulk_preview_accept_and_undo_as_one_step(api, pets, suggested):
    from webapp.datasets.models import Image

    red = pets.classes.get(name="red")
    preview = api.get("/api/labelling/batches/preview/", {"dataset": pets.pk, "label": red.pk,
                                                          "min_confidence": .95}).json()
    assert preview["count"] == 2 and len(preview["sample"]) == 2
    stale = api.post("/api/labelling/batches/", {"dataset": pets.pk, "label": red.pk, "min_confidence": .95,
                                                 "count": 3}, format="json")
    assert stale.status_code == 409 and not Image.objects.filter(label=red, pk__in=[i.pk for i in suggested])
    made = api.post("/api/labelling/batches/", {"dataset": pets.pk, "label": red.pk, "min_confidence": .95,
                                                "count": 2}, format="json")
    assert made.status_code == 201 and made.json()["count"] == 2
    assert Image.objects.filter(label=red, pk__in=[i.pk for i in suggested]).count() == 2
    batch = made.json()["id"]
    assert api.get(f"/api/labelling/batches/{batch}/").json()["label_name"] == "red"
    undone = api.post(f"/api/labelling/batches/{batch}/undo/")
    assert undone.json() == {"batch": batch, "undone": 2, "kept": 0}
    assert not Image.objects.filter(label=red, pk__in=[i.pk for i in suggested]).exists()
    assert api.post(f"/api/labelling/batches/{batch}/undo/").status_code == 409


def test_grid_accept_and_reject_through_the_api(api, pets, suggested):
    from webapp.labelling.models import Suggestion

    blue = pets.classes.get(name="blue")
    body = {"dataset": pets.pk, "label": blue.pk, "accept": [suggested[4].pk], "reject": [suggested[5].pk]}
    made = api.post("/api/labelling/batches/", body, format="json")
    assert made.status_code == 201 and made.json()["count"] == 1
    assert Suggestion.objects.get(image=suggested[5]).rejected_at is not None
    wrong = api.post("/api/labelling/batches/", {**body, "accept": [suggested[0].pk], "reject": []}, format="json")
    assert wrong.status_code == 409  # suggested red, not blue
    for bad in ({"dataset": pets.pk, "label": blue.pk}, {"dataset": pets.pk, "label": blue.pk, "min_confidence": .5},
                {"dataset": pets.pk, "label": blue.pk, "accept": ["x"]},
                {"dataset": pets.pk, "label": blue.pk, "accept": [1], "min_confidence": .5, "count": 1}):
        assert api.post("/api/labelling/batches/", bad, format="json").status_code == 400, bad


def test_outsider_sees_nothing(api_client, outsider, pets, suggested, finished_job):
    from webapp.labelling.models import LabelBatch

    batch = LabelBatch.objects.create(dataset=pets, model_ref="run:1", label_name="red")
    api_client.force_login(outsider)
    assert api_client.get(f"/api/labelling/prelabel-jobs/{finished_job.pk}/").status_code == 404
    assert api_client.get("/api/labelling/prelabel-jobs/").json()["count"] == 0
    assert api_client.get("/api/labelling/suggestions/", {"dataset": pets.pk}).status_code == 404
    assert api_client.get("/api/labelling/queue/", {"dataset": pets.pk}).status_code == 404
    assert api_client.get(f"/api/labelling/batches/{batch.pk}/").status_code == 404
    assert api_client.post(f"/api/labelling/batches/{batch.pk}/undo/").status_code == 404


BAD_IDS = ["9" * 30, "-1", "1e400", "²", "1.5", "x", "a\x00b", "0"]


@pytest.mark.parametrize("value", BAD_IDS)
def test_ids_that_are_no_ids_are_400s(api, pets, finished_job, value):
    for url, params in [("/api/labelling/suggestions/", {"dataset": value}),
                        ("/api/labelling/suggestions/", {"dataset": pets.pk, "label": value}),
                        ("/api/labelling/suggestions/", {"dataset": pets.pk, "job": value}),
                        ("/api/labelling/queue/", {"dataset": value}),
                        ("/api/labelling/queue/", {"dataset": pets.pk, "after": value}),
                        ("/api/labelling/prelabel-jobs/", {"dataset": value}),
                        ("/api/labelling/labels/", {"dataset": value}),
                        ("/api/labelling/batches/preview/", {"dataset": pets.pk, "label": value,
                                                              "min_confidence": .5})]:
        answer = api.get(url, params)
        if value == "0" and "after" in params:
            continue  # 0: from the start
        assert answer.status_code == 400 and answer["Content-Type"] == "application/json", (url, params)
    label = pets.classes.first().pk
    assert api.post("/api/labelling/labels/", {"dataset": pets.pk, "image": value, "label": label},
                    format="json").status_code == 400
    for url in ("/api/labelling/labels/", "/api/labelling/prelabel-jobs/", "/api/labelling/retrains/",
                "/api/labelling/batches/"):
        assert api.post(url, {"dataset": value, "model": "run:1", "image": 1, "label": label, "accept": [1]},
                        format="json").status_code == 400, url


@pytest.mark.parametrize("body", ["[]", '"x"', "3", "null"])
@pytest.mark.parametrize("url", ["/api/labelling/labels/", "/api/labelling/batches/", "/api/labelling/prelabel-jobs/",
                                 "/api/labelling/retrains/"])
def test_json_bodies_that_are_not_objects_are_400s(api, url, body):
    assert api.post(url, body, content_type="application/json").status_code == 400


@pytest.mark.parametrize("ref", ["run:²", "run:" + "9" * 30, "run:-1", "run:1\x00", "nothing", "imagenet:resnet18"])
def test_model_references_that_are_none_are_4xx(api, pets, ref):
    answer = api.post("/api/labelling/prelabel-jobs/", {"dataset": pets.pk, "model": ref}, format="json")
    assert answer.status_code in (400, 404) and answer["Content-Type"] == "application/json"
