"""Labelling through the JSON endpoints the keyboard page calls: queue, label, undo, and every refusal."""

import json

import pytest
from django.urls import reverse

from tests.webapp.labelling.conftest import UNLABELLED_COUNT, suggest

pytestmark = pytest.mark.django_db


def post(client, name, dataset, body):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(reverse(name, args=[dataset.pk]), data, content_type="application/json")


def queue(client, dataset, **params):
    return client.get(reverse("label_queue", args=[dataset.pk]), params).json()


def classes(dataset):
    return {c.name: c for c in dataset.classes.all()}


def test_keyboard_session_labels_every_unlabelled_image_and_records_each_origin(owner_client, owner, pets):
    from webapp.labelling.models import LabelEvent

    first = queue(owner_client, pets)
    assert (first["remaining"], first["total"]) == (UNLABELLED_COUNT, UNLABELLED_COUNT + 6)
    names = ["red", "green", "blue"]
    revision = type(pets).objects.get(pk=pets.pk).revision
    for n, entry in enumerate(first["images"]):
        body = {"image": entry["id"], "label": classes(pets)[names[n % 3]].pk}
        answer = post(owner_client, "label_image", pets, body)
        assert answer.status_code == 201, answer.json()
        assert answer.json()["label_name"] == names[n % 3]
    assert queue(owner_client, pets) == {"images": [], "remaining": 0, "total": UNLABELLED_COUNT + 6,
                                         "order": "oldest", "job": None, "model": None}
    events = list(LabelEvent.objects.order_by("id"))
    assert [(e.label_name, e.previous_name, e.origin, e.user) for e in events] == \
        [(names[n % 3], "", "hand", owner) for n in range(UNLABELLED_COUNT)]
    # The datasets service did the change: the dataset's revision moved, so a version freeze sees it.
    assert type(pets).objects.get(pk=pets.pk).revision > revision


def test_queue_pages_on_after_and_reviews_one_class(owner_client, pets):
    first = queue(owner_client, pets)["images"]
    rest = queue(owner_client, pets, after=first[1]["id"])["images"]
    assert [e["id"] for e in rest] == [e["id"] for e in first[2:]]
    red = classes(pets)["red"]
    review = queue(owner_client, pets, scope=red.pk)
    assert review["remaining"] == 2 and all(e["label"] == red.pk for e in review["images"])


def test_undo_puts_the_image_back_and_the_queue_shows_it_again(owner_client, pets):
    from webapp.labelling.models import LabelEvent

    image = queue(owner_client, pets)["images"][0]["id"]
    event = post(owner_client, "label_image", pets, {"image": image, "label": classes(pets)["red"].pk}).json()["event"]
    assert image not in [e["id"] for e in queue(owner_client, pets)["images"]]
    answer = post(owner_client, "label_undo", pets, {"event": event})
    assert answer.status_code == 200 and answer.json()["label"] is None
    assert image in [e["id"] for e in queue(owner_client, pets)["images"]]
    assert LabelEvent.objects.get(pk=event).undone_at is not None
    again = post(owner_client, "label_undo", pets, {"event": event})
    assert again.status_code == 409 and "already undone" in again.json()["detail"]


def test_a_label_given_meanwhile_in_another_tab_is_a_conflict_that_changes_nothing(owner_client, pets):
    from webapp.datasets.models import Image
    from webapp.labelling.models import LabelEvent

    image = queue(owner_client, pets)["images"][0]["id"]
    red, green = classes(pets)["red"], classes(pets)["green"]
    assert post(owner_client, "label_image", pets, {"image": image, "label": red.pk}).status_code == 201
    # The other tab still thinks the image is unlabelled.
    late = post(owner_client, "label_image", pets, {"image": image, "label": green.pk})
    assert late.status_code == 409 and "labelled meanwhile (now red)" in late.json()["detail"]
    assert Image.objects.get(pk=image).label == red and LabelEvent.objects.count() == 1
    # Relabelling on purpose (the page says what it saw) works and records the class before.
    fixed = post(owner_client, "label_image", pets, {"image": image, "label": green.pk, "expected": red.pk})
    assert fixed.status_code == 201
    assert LabelEvent.objects.first().previous_name == "red"


def test_undo_refused_once_the_image_was_labelled_again(owner_client, pets):
    image = queue(owner_client, pets)["images"][0]["id"]
    red, green = classes(pets)["red"], classes(pets)["green"]
    first = post(owner_client, "label_image", pets, {"image": image, "label": red.pk}).json()["event"]
    post(owner_client, "label_image", pets, {"image": image, "label": green.pk, "expected": red.pk})
    answer = post(owner_client, "label_undo", pets, {"event": first})
    assert answer.status_code == 409 and "labelled again" in answer.json()["detail"]


def test_deleted_image_and_deleted_class_are_clear_400s(owner_client, pets):
    from webapp.datasets.services import bulk
    from webapp.datasets.services.classes import delete_class
    from webapp.labelling.models import LabelEvent

    images = queue(owner_client, pets)["images"]
    bulk.delete_images(pets, [images[0]["id"]])
    gone = post(owner_client, "label_image", pets, {"image": images[0]["id"], "label": classes(pets)["red"].pk})
    assert gone.status_code == 400 and "deleted" in gone.json()["detail"]
    assert LabelEvent.objects.count() == 0
    blue = classes(pets)["blue"]
    blue_pk = blue.pk
    delete_class(blue, delete_images=False)
    unlabelled = LabelEvent.objects.count()  # the blue images' own: now unlabelled
    answer = post(owner_client, "label_image", pets, {"image": images[1]["id"], "label": blue_pk})
    assert answer.status_code == 400 and "class is not in this dataset" in answer.json()["detail"]
    assert LabelEvent.objects.count() == unlabelled == 2


@pytest.mark.parametrize("body", [
    "not json", "[1, 2]", {"image": "x", "label": 1}, {"image": 1}, {"image": 1, "label": [1]},
    {"image": 1, "label": True}, {"image": -1, "label": 1}, {"image": 1, "label": 1, "origin": "magic"},
    "9" * 5000,
])
def test_bad_label_bodies_are_400s(owner_client, pets, body):
    answer = post(owner_client, "label_image", pets, body)
    assert answer.status_code == 400 and answer.json()["detail"]


def test_a_class_of_another_dataset_is_refused(owner_client, owner, pets):
    from tests.factories import make_dataset

    other = make_dataset(owner, name="Other", per_split={"train": 1})
    image = queue(owner_client, pets)["images"][0]["id"]
    answer = post(owner_client, "label_image", pets, {"image": image, "label": other.classes.first().pk})
    assert answer.status_code == 400


def test_accepted_suggestion_must_name_its_model_and_match_its_suggestion(owner_client, pets, finished_job):
    from webapp.datasets.models import Image
    from webapp.labelling.models import LabelEvent

    image = queue(owner_client, pets)["images"][0]["id"]
    suggest(finished_job, Image.objects.get(pk=image), "red", 0.9)
    body = {"image": image, "label": classes(pets)["red"].pk, "origin": "suggestion"}
    assert post(owner_client, "label_image", pets, body).status_code == 400
    unknown = post(owner_client, "label_image", pets, body | {"model": "run:999999"})
    assert unknown.status_code == 400 and "made no suggestion" in unknown.json()["detail"]
    other = post(owner_client, "label_image", pets, body | {"model": finished_job.model_ref,
                                                           "label": classes(pets)["green"].pk})
    assert other.status_code == 409 and "suggested red" in other.json()["detail"]
    assert not LabelEvent.objects.exists()
    answer = post(owner_client, "label_image", pets, body | {"model": finished_job.model_ref})
    assert answer.status_code == 201 and answer.json()["origin"] == "suggestion"
    assert LabelEvent.objects.get().model_ref == finished_job.model_ref


def test_a_suggestion_whose_class_was_renamed_no_longer_matches(owner_client, pets, finished_job):
    from webapp.datasets.models import Image

    image = queue(owner_client, pets)["images"][0]["id"]
    suggest(finished_job, Image.objects.get(pk=image), "red", 0.9)
    red = classes(pets)["red"]
    red.name = "crimson"
    red.save()
    body = {"image": image, "label": red.pk, "origin": "suggestion", "model": finished_job.model_ref}
    answer = post(owner_client, "label_image", pets, body)
    assert answer.status_code == 409 and "no longer matches" in answer.json()["detail"]
    assert Image.objects.get(pk=image).label is None


@pytest.mark.parametrize("params", [{"scope": "banana"}, {"scope": "999999"}, {"after": "-1"}, {"after": "x"}])
def test_bad_queue_parameters_are_400s(owner_client, pets, params):
    answer = owner_client.get(reverse("label_queue", args=[pets.pk]), params)
    assert answer.status_code == 400 and answer.json()["detail"]


def test_undo_of_an_unknown_event_is_404_and_a_bad_one_400(owner_client, pets):
    assert post(owner_client, "label_undo", pets, {"event": 999999}).status_code == 404
    assert post(owner_client, "label_undo", pets, {"event": "x"}).status_code == 400


def test_outsider_cannot_label_or_undo(client, outsider, owner_client, pets):
    image = queue(owner_client, pets)["images"][0]["id"]
    event = post(owner_client, "label_image", pets, {"image": image, "label": classes(pets)["red"].pk}).json()["event"]
    client.force_login(outsider)
    assert post(client, "label_image", pets, {"image": image, "label": classes(pets)["green"].pk}).status_code == 404
    assert post(client, "label_undo", pets, {"event": event}).status_code == 404
    assert client.get(reverse("label_queue", args=[pets.pk])).status_code == 404
