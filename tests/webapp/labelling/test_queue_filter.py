"""The labelling queue narrowed by a filter on the suggestions: a suggested class, confidence at least / below."""

import re

import pytest

from tests.webapp.labelling.conftest import suggest

pytestmark = pytest.mark.django_db


@pytest.fixture
def suggested(pets, finished_job):
    """Return the unlabelled images of `pets`, suggested as red 99%, red 97%, red 60%, green 90%, blue 55%, 52%."""
    images = list(pets.images.filter(label__isnull=True).order_by("pk"))
    for image, (name, p) in zip(images, [("red", .99), ("red", .97), ("red", .6), ("green", .9), ("blue", .55),
                                         ("blue", .52)], strict=True):
        suggest(finished_job, image, name, p)
    return images


def red(pets):
    return pets.classes.get(name="red")


def test_the_filter_keeps_the_suggestions_of_a_class_within_the_confidences(pets, finished_job, suggested):
    from django.utils import timezone

    from webapp.labelling.models import Suggestion
    from webapp.labelling.services import queue

    scope = queue.scope_for(pets, None, suggested=red(pets).pk, max_confidence=0.98)
    assert scope.title == "unlabelled images suggested as red with confidence below 98%"
    page = queue.next_images(pets, scope, order="margin", job=finished_job)
    assert [e["id"] for e in page] == [suggested[2].pk, suggested[1].pk]  # 60% (margin .2), then 97%
    assert queue.counts(pets, scope, finished_job)["remaining"] == 2
    both = queue.scope_for(pets, "unlabelled", suggested=red(pets).pk, min_confidence=0.7, max_confidence=0.98)
    assert [e["id"] for e in queue.next_images(pets, both, job=finished_job)] == [suggested[1].pk]
    anyclass = queue.scope_for(pets, None, max_confidence=0.56)
    assert anyclass.title == "unlabelled images suggested with confidence below 56%"
    assert {e["id"] for e in queue.next_images(pets, anyclass, job=finished_job)} == {suggested[4].pk,
                                                                                      suggested[5].pk}
    # A suggestion rejected in grid mode no longer counts as the model's word.
    Suggestion.objects.filter(image=suggested[2]).update(rejected_at=timezone.now())
    assert queue.counts(pets, scope, finished_job)["remaining"] == 1
    assert scope.params() == {"scope": "unlabelled", "suggested": str(red(pets).pk), "max_confidence": "98"}


def test_the_page_shows_the_filter_and_keeps_it_in_its_links_and_queue(owner_client, pets, finished_job, suggested):
    url = f"/datasets/{pets.pk}/label/?suggested={red(pets).pk}&max_confidence=98"
    text = owner_client.get(url).content.decode()
    assert "Filter: unlabelled images suggested as red with confidence below 98%" in text
    assert "2</strong> of 12 left in unlabelled images suggested as red" in text
    link = re.search(r'<a href="\?([^"]+)" id="label-filter-link"', text).group(1)
    assert f"suggested={red(pets).pk}" in link and "max_confidence=98" in link and "order=margin" in link
    assert f'data-filter="suggested={red(pets).pk}&amp;max_confidence=98"' in text
    assert f'<option value="{red(pets).pk}" selected>red</option>' in text and 'value="98"' in text
    queue = owner_client.get(f"/datasets/{pets.pk}/label/queue/?suggested={red(pets).pk}&max_confidence=98").json()
    assert [e["id"] for e in queue["images"]] == [suggested[2].pk, suggested[1].pk] and queue["remaining"] == 2
    plain = owner_client.get(f"/datasets/{pets.pk}/label/").content.decode()
    assert 'id="label-filter"' not in plain and "6</strong> of 12 left in unlabelled images<" in plain


@pytest.mark.parametrize("query, words", [
    ("suggested=999999", "suggested class must be a class of this dataset"),
    ("suggested=red", "Enter a whole number"),
    ("max_confidence=lots", "Enter a number"),
    ("min_confidence=-1", "greater than or equal to 0"),
    ("min_confidence=70&max_confidence=60", "lower confidence bound must be below the upper one"),
])
def test_a_bad_filter_is_a_400_saying_why(owner_client, pets, finished_job, suggested, query, words):
    page = owner_client.get(f"/datasets/{pets.pk}/label/?{query}")
    assert page.status_code == 400 and words in page.content.decode()
    answer = owner_client.get(f"/datasets/{pets.pk}/label/queue/?{query}")
    assert answer.status_code == 400 and words in answer.json()["detail"]


def test_a_filter_needs_suggestions(owner_client, pets):
    page = owner_client.get(f"/datasets/{pets.pk}/label/?max_confidence=60")
    assert page.status_code == 400 and "Run a pre-label job first" in page.content.decode()


def test_the_api_queue_takes_the_same_filter_in_fractions(api_client, owner, pets, finished_job, suggested):
    api_client.force_login(owner)
    answer = api_client.get("/api/labelling/queue/", {"dataset": pets.pk, "suggested": red(pets).pk,
                                                      "min_confidence": 0.7, "max_confidence": 0.98})
    assert answer.status_code == 200, answer.json()
    body = answer.json()
    assert [e["id"] for e in body["images"]] == [suggested[1].pk] and body["remaining"] == 1
    assert body["scope"] == "unlabelled images suggested as red with confidence from 70% to below 98%"
    for query in ({"max_confidence": 98}, {"suggested": 10**6}, {"min_confidence": 0.9, "max_confidence": 0.5}):
        assert api_client.get("/api/labelling/queue/", {"dataset": pets.pk, **query}).status_code == 400, query
