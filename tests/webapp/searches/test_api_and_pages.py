"""Starting, following and cancelling a search from the API and the pages; bad input gets a clear 4xx."""

import pytest
from django.urls import reverse

from tests.factories import make_dataset, make_run
from webapp.datasets.models import Dataset
from webapp.runs.models import RunStatus, TrainingRun
from webapp.searches.models import Search, SearchStatus

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]


@pytest.fixture
def api(api_client, owner):
    api_client.force_authenticate(owner)
    return api_client


@pytest.fixture
def squares(owner):
    return make_dataset(owner, name="Squares", per_split={"train": 4, "val": 2, "test": 1})


def test_the_api_starts_a_search_whose_members_are_queued_runs(api, squares):
    answer = api.post("/api/searches/", {"dataset": squares.pk, "minutes": 3}, format="json")

    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert body["status"] == "running" and body["budget_minutes"] == 3 and body["plan"]["machine"] == "cpu"
    members = body["members"]
    assert {m["arch"] for m in members} == {"custom", "resnet18_small"} and len(members) == 4
    assert len({m["lr"] for m in members if m["arch"] == "custom"}) == 2  # two learning rates per architecture
    runs = TrainingRun.objects.filter(pk__in=[m["run"] for m in members])
    assert {r.status for r in runs} == {RunStatus.QUEUED}
    assert {r.config["epochs"] for r in runs} == {body["plan"]["rung0_epochs"]}
    assert api.get(f"/api/searches/{body['id']}/").json()["members"] == members
    assert [s["id"] for s in api.get("/api/searches/").json()["results"]] == [body["id"]]


def test_cancelling_through_the_api_cancels_the_members_then_answers_409(api, squares):
    search_id = api.post("/api/searches/", {"dataset": squares.pk}, format="json").json()["id"]

    answer = api.post(f"/api/searches/{search_id}/cancel/")

    assert answer.status_code == 200 and answer.json()["status"] == "cancelled"
    assert {m["status"] for m in answer.json()["members"]} == {"cancelled"}
    assert api.post(f"/api/searches/{search_id}/cancel/").status_code == 409


@pytest.mark.parametrize("minutes", [0, 241, 1e9, "five", True, 2.5, None, [], -1])
def test_minutes_out_of_range_or_not_a_number_are_refused(api, squares, minutes):
    answer = api.post("/api/searches/", {"dataset": squares.pk, "minutes": minutes}, format="json")
    assert answer.status_code == 400 and "minutes" in answer.json()
    assert not Search.objects.exists() and not TrainingRun.objects.exists()


@pytest.mark.parametrize("dataset", ["abc", 0, 99999, 2**80, "", None, {"id": 1}])
def test_a_dataset_that_is_not_an_id_of_yours_is_refused(api, squares, dataset):
    answer = api.post("/api/searches/", {"dataset": dataset, "minutes": 5}, format="json")
    assert answer.status_code == 400 and "dataset" in answer.json()
    assert not Search.objects.exists()


def test_data_that_cannot_rank_models_is_refused_in_words(api, owner, outsider):
    one_class = make_dataset(owner, name="One", classes=("red",), per_split={"train": 3, "val": 1, "test": 1})
    empty = Dataset.objects.create(owner=owner, name="Empty")
    no_val = make_dataset(owner, name="NoVal", per_split={"train": 3, "val": 0, "test": 1})
    theirs = make_dataset(outsider, name="Theirs", per_split={"train": 3, "val": 1, "test": 1})
    for dataset, words in ((one_class, "at least 2"), (empty, "class"), (no_val, "validation"),
                           (theirs, "valid choice")):
        answer = api.post("/api/searches/", {"dataset": dataset.pk, "minutes": 5}, format="json")
        assert answer.status_code == 400, dataset.name
        assert words in " ".join(answer.json()["dataset"]), answer.json()
    assert not Search.objects.exists() and not TrainingRun.objects.exists()


def test_an_outsider_sees_no_search(api_client, outsider, api, squares, client):
    search_id = api.post("/api/searches/", {"dataset": squares.pk}, format="json").json()["id"]
    api_client.force_authenticate(outsider)
    assert api_client.get(f"/api/searches/{search_id}/").status_code == 404
    assert api_client.get("/api/searches/").json()["results"] == []


def test_the_pages_start_a_search_and_show_its_members_and_winner(owner_client, owner, squares):
    assert 'href="/searches/new/"' in owner_client.get(reverse("run_new")).content.decode()
    form = owner_client.get(reverse("search_new"))
    assert form.status_code == 200 and 'value="5"' in form.content.decode()

    answer = owner_client.post(reverse("search_new"), {"dataset": squares.pk, "minutes": 2})

    search = Search.objects.get()
    assert answer.status_code == 302 and answer["Location"] == reverse("search_detail", args=[search.pk])
    member = search.members.first()
    make_run(owner, search.version)  # a run outside the search says nothing of one
    Search.objects.filter(pk=search.pk).update(status=SearchStatus.SUCCEEDED, winner=member.run)
    page = owner_client.get(answer["Location"]).content.decode()
    assert page.count('href="/runs/') >= search.members.count()
    assert 'class="winner"' in page and "winner</span>" in page
    assert 'id="compare-curves"' in page and "js/runs/compare.js" in page
    run_page = owner_client.get(reverse("run_detail", args=[member.run_id])).content.decode()
    assert f"part of search {search.pk}" in run_page
    listing = owner_client.get(reverse("run_list")).content.decode()
    assert listing.count(f"part of search {search.pk}") == search.members.count()


@pytest.mark.parametrize("minutes", ["0", "1e9", "text", ""])
def test_the_form_refuses_bad_minutes_beside_the_field(owner_client, squares, minutes):
    answer = owner_client.post(reverse("search_new"), {"dataset": squares.pk, "minutes": minutes})
    assert answer.status_code == 400 and 'id="id_minutes_error"' in answer.content.decode()
    assert not Search.objects.exists()


@pytest.mark.parametrize("body", ["[]", '"x"', "3", "null", '{"dataset": "²"}', '{"dataset": "9999999999999999999999"}',
                                  '{"dataset": "1\\u0000"}', '{"minutes": 5}', "{}"])
def test_a_body_that_is_no_search_is_a_400(api, squares, body):
    answer = api.post("/api/searches/", body, content_type="application/json")
    assert answer.status_code == 400 and answer["Content-Type"].startswith("application/json")
    assert not Search.objects.exists()


@pytest.mark.parametrize("value", ["²", "9" * 30, "-1", "a\x00b", "1e400", "x"])
def test_the_form_refuses_a_dataset_that_is_no_id(owner_client, squares, value):
    answer = owner_client.post(reverse("search_new"), {"dataset": value, "minutes": 5})
    assert answer.status_code == 400 and 'id="id_dataset_error"' in answer.content.decode()


def test_the_search_list_shows_only_searches_one_may_see(owner_client, owner, outsider, squares, client):
    owner_client.post(reverse("search_new"), {"dataset": squares.pk, "minutes": 2})
    search = Search.objects.get()
    listing = owner_client.get(reverse("search_list")).content.decode()
    assert f'href="{reverse("search_detail", args=[search.pk])}"' in listing
    client.force_login(outsider)
    assert f"Search {search.pk}" not in client.get(reverse("search_list")).content.decode()
