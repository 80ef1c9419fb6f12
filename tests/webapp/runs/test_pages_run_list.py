"""The runs list: status, dataset, architecture, top-1 and duration; filters and sorting; owners only."""

import re

import pytest
from django.urls import reverse

from tests.factories import FEW, confused_evaluation, make_run, make_version
from webapp.runs.models import RunStatus

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]


def names(html: str) -> list[str]:
    return re.findall(r'<td><a href="/runs/\d+/">([^<]+)</a>', html)


@pytest.fixture
def three_runs(owner, pets):
    version, images = pets
    good = make_run(owner, version, name="good")
    confused_evaluation(good, images)  # top-1 66.7%
    running = make_run(owner, version, name="running", status=RunStatus.RUNNING)
    failed = make_run(owner, version, name="failed", status=RunStatus.FAILED)
    failed.arch = "vgg11_small"
    failed.save()
    return good, running, failed


def test_it_lists_runs_with_their_numbers(owner_client, three_runs):
    html = owner_client.get(reverse("run_list")).content.decode()
    assert names(html) == ["failed", "running", "good"]  # newest first
    good_row = html[html.index(">good</a>"):html.index("</tr>", html.index(">good</a>"))]
    assert "Succeeded" in good_row and "Pets" in good_row and "resnet18_small" in good_row
    assert "66.7%" in good_row and "12 s" in good_row


def test_it_filters_by_status_dataset_and_architecture(owner_client, owner, three_runs):
    assert names(owner_client.get(reverse("run_list") + "?status=running").content.decode()) == ["running"]
    assert names(owner_client.get(reverse("run_list") + "?arch=vgg11_small").content.decode()) == ["failed"]
    other = make_version(owner, name="Other", classes=("a", "b"), per_split=FEW)
    make_run(owner, other, name="elsewhere")
    html = owner_client.get(reverse("run_list") + f"?dataset={other.dataset_id}").content.decode()
    assert names(html) == ["elsewhere"]


def test_it_sorts_by_top1(owner_client, three_runs):
    html = owner_client.get(reverse("run_list") + "?sort=top1").content.decode()
    assert names(html)[0] == "good"


def test_it_shows_only_visible_runs(outsider_client, three_runs):
    html = outsider_client.get(reverse("run_list")).content.decode()
    assert names(html) == []
    assert "No training runs yet" in html


def test_it_needs_a_sign_in(client):
    response = client.get(reverse("run_list"))
    assert response.status_code == 302 and "/login" in response["Location"]


def test_the_dashboard_shows_a_runs_card(owner_client, three_runs):
    html = owner_client.get(reverse("dashboard")).content.decode()
    assert "Training runs · 1 active" in html
    assert reverse("run_new") in html
