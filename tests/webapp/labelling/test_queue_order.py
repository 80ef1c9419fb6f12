"""The queue in the order a person chooses: most uncertain first, most confident first, or random."""

import pytest
from django.urls import reverse

from tests.webapp.labelling.conftest import UNLABELLED_COUNT, suggest

pytestmark = pytest.mark.django_db


def unlabelled(pets):
    return list(pets.images.filter(label__isnull=True).order_by("pk"))


def ids(client, pets, **params):
    """Return every image id of the queue, page by page as the page pages on with `after`."""
    got, after = [], None
    while True:
        query = {**params, **({"after": after} if after else {})}
        answer = client.get(reverse("label_queue", args=[pets.pk]), query)
        assert answer.status_code == 200, answer.json()
        images = answer.json()["images"]
        if not images:
            return got
        got += [e["id"] for e in images]
        after = images[-1]["id"]
        assert len(got) <= 50, "the queue must end"


@pytest.fixture
def small_pages(monkeypatch):
    from webapp.labelling.services import queue as service

    monkeypatch.setattr(service, "BATCH", 2)


@pytest.fixture
def suggested(pets, finished_job):
    """Suggest for 5 of the 6 unlabelled images, with margins 0.5, 0.1, 0.9, 0.3, 0.7 (the 6th has none)."""
    images = unlabelled(pets)
    for image, margin, entropy, confidence in zip(images, (0.5, 0.1, 0.9, 0.3, 0.7), (0.4, 0.9, 0.1, 0.6, 0.2),
                                                  (0.7, 0.5, 0.95, 0.6, 0.8), strict=False):
        suggest(finished_job, image, "red", confidence, margin=margin, entropy=entropy)
    return images


def test_uncertain_first_is_the_default_once_there_are_suggestions(owner_client, pets, suggested, small_pages):
    by = [suggested[i].pk for i in (1, 3, 0, 4, 2, 5)]  # smallest margin first; no suggestion last
    assert ids(owner_client, pets) == by
    assert ids(owner_client, pets, order="margin") == by
    assert ids(owner_client, pets, order="entropy") == [suggested[i].pk for i in (1, 3, 0, 4, 2, 5)]
    assert ids(owner_client, pets, order="confidence") == [suggested[i].pk for i in (2, 4, 0, 3, 1, 5)]
    shuffled = ids(owner_client, pets, order="random")
    assert sorted(shuffled) == sorted(e.pk for e in suggested) and len(shuffled) == UNLABELLED_COUNT
    assert ids(owner_client, pets, order="oldest") == [e.pk for e in suggested]


def test_queue_entries_carry_the_suggestion_and_its_model(owner_client, pets, suggested, finished_job):
    answer = owner_client.get(reverse("label_queue", args=[pets.pk])).json()
    assert (answer["order"], answer["job"], answer["model"]) == ("margin", finished_job.pk, finished_job.model_ref)
    first = answer["images"][0]["suggestion"]
    assert first["label_name"] == "red" and first["label"] == pets.classes.get(name="red").pk
    assert first["confidence"] == 0.5 and first["model"] == finished_job.model_ref
    assert answer["images"][-1]["suggestion"] is None


def test_the_page_shows_the_order_and_the_model(owner_client, pets, suggested, finished_job):
    html = owner_client.get(reverse("label_page", args=[pets.pk]), {"order": "entropy"}).content.decode()
    assert "Suggestions by <strong>tiny</strong>" in html and finished_job.model_ref in html
    assert "most uncertain first (highest entropy)" in html and 'data-order="entropy"' in html
    assert reverse("label_bulk", args=[pets.pk]) in html and reverse("label_grid", args=[pets.pk]) in html


def test_orders_by_certainty_need_a_prelabel_job(owner_client, pets):
    answer = owner_client.get(reverse("label_queue", args=[pets.pk]), {"order": "margin"})
    assert answer.status_code == 400 and "pre-label job first" in answer.json()["detail"]
    assert owner_client.get(reverse("label_page", args=[pets.pk]), {"order": "margin"}).status_code == 400
    assert len(owner_client.get(reverse("label_queue", args=[pets.pk]), {"order": "random"}).json()["images"]) == 6


@pytest.mark.parametrize("params", [{"order": "banana"}, {"job": "x"}, {"job": "999999"}, {"job": "-3"}])
def test_bad_order_parameters_are_400s(owner_client, pets, finished_job, params):
    answer = owner_client.get(reverse("label_queue", args=[pets.pk]), params)
    assert answer.status_code == 400 and answer.json()["detail"]
