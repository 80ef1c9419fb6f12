"""Advancing a search from what its member runs left in the database: wait, halve, continue, end with a winner."""

import json
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import make_version, saved_run
from webapp.runs.models import EpochMetric, RunStatus, TrainingRun
from webapp.searches.models import Search, SearchMember, SearchStatus
from webapp.searches.services.control import cancel_search
from webapp.searches.worker import advance_search

pytestmark = pytest.mark.django_db


@pytest.fixture
def version(owner, media):
    return make_version(owner, name="Squares", per_split={"train": 4, "val": 2, "test": 1})


def _search(owner, version, *, minutes=5, max_epochs=20) -> Search:
    now = timezone.now()
    return Search.objects.create(owner=owner, dataset=version.dataset, version=version, budget_minutes=minutes,
                                 deadline_at=now + timedelta(minutes=minutes),
                                 plan={"machine": "cpu", "max_epochs": max_epochs, "rung0_epochs": 2})


def _finished_member(search, accuracy, *, rung=0, epochs=2, parent=None, lr=0.002) -> SearchMember:
    """Return a member whose run succeeded after `epochs` epochs of 1 s, its best validation at `accuracy`."""
    run = saved_run(search.owner, search.version, arch="custom", spec=None, name=f"member {accuracy}")
    now = timezone.now()
    TrainingRun.objects.filter(pk=run.pk).update(started_at=now - timedelta(seconds=epochs + 2), finished_at=now)
    for epoch in range(1, epochs + 1):
        EpochMetric.objects.create(run=run, epoch=epoch, train_loss=1.0, train_accuracy=0.5, val_loss=1.0,
                                   val_accuracy=accuracy * epoch / epochs, lr=lr, images_per_s=100.0, seconds=1.0)
    return SearchMember.objects.create(search=search, run=run, rung=rung, arch="custom", lr=lr,
                                       epochs=epochs + (parent.epochs if parent else 0), budget=epochs, parent=parent)


def _succeed(member, accuracy, *, epochs):
    run = member.run
    now = timezone.now()
    TrainingRun.objects.filter(pk=run.pk).update(status=RunStatus.SUCCEEDED, started_at=now - timedelta(seconds=3),
                                                 finished_at=now)
    for epoch in range(1, epochs + 1):
        EpochMetric.objects.create(run=run, epoch=epoch, train_loss=1.0, train_accuracy=0.5, val_loss=1.0,
                                   val_accuracy=accuracy, lr=0.002, images_per_s=100.0, seconds=1.0)


def test_it_waits_for_the_rung_then_continues_the_better_half(owner, version):
    search = _search(owner, version)
    members = [_finished_member(search, acc, lr=lr) for acc, lr in ((0.5, 0.002), (0.9, 0.006), (0.7, 0.001))]
    waiting = _finished_member(search, 0.6)
    TrainingRun.objects.filter(pk=waiting.run_id).update(status=RunStatus.RUNNING)

    assert advance_search(search.pk) == "waiting"
    assert search.members.count() == 4

    TrainingRun.objects.filter(pk=waiting.run_id).update(status=RunStatus.SUCCEEDED)
    assert advance_search(search.pk) == "rung 1"
    search.refresh_from_db()
    assert search.rung == 1
    rung1 = list(search.members.filter(rung=1).select_related("run", "parent"))
    assert sorted(m.parent_id for m in rung1) == sorted([members[1].pk, members[2].pk])  # 0.9 and 0.7
    for member in rung1:
        assert member.run.status == RunStatus.QUEUED
        assert member.run.config["init_from"] == {**member.run.config["init_from"], "kind": "run",
                                                  "id": member.parent.run_id}
        assert member.run.config["epochs"] == 2 and member.epochs == 4  # 2 more, 4 in total
        assert member.lr == member.parent.lr and member.run.config["lr"] == member.parent.lr
    assert "rung 1" in member.run.name

    assert advance_search(search.pk) == "waiting"  # a second trigger launches nothing more
    assert search.members.count() == 6


def test_it_ends_with_the_best_member_when_no_rung_fits_the_time_left(owner, version):
    search = _search(owner, version)
    first = _finished_member(search, 0.8)
    _finished_member(search, 0.4)
    assert advance_search(search.pk) == "rung 1"
    continued = search.members.get(rung=1)
    _succeed(continued, 0.95, epochs=2)
    # One more epoch takes about 2 s (1 s of epoch, 1 s around it): it would not end within the second left.
    Search.objects.filter(pk=search.pk).update(deadline_at=timezone.now() + timedelta(seconds=1))

    assert advance_search(search.pk) == "succeeded"
    search.refresh_from_db()
    assert search.status == SearchStatus.SUCCEEDED and search.finished_at is not None
    assert search.winner_id == continued.run_id != first.run_id
    assert "95.0%" in search.progress["message"]


def test_a_rung_that_could_not_finish_in_time_never_starts(owner, version):
    search = _search(owner, version)
    best = _finished_member(search, 0.8)
    _finished_member(search, 0.3)
    Search.objects.filter(pk=search.pk).update(deadline_at=timezone.now() + timedelta(seconds=3))

    assert advance_search(search.pk) == "succeeded"
    assert search.members.count() == 2
    assert Search.objects.get(pk=search.pk).winner_id == best.run_id


def test_a_search_whose_members_all_failed_fails(owner, version):
    search = _search(owner, version)
    member = _finished_member(search, 0.8)
    TrainingRun.objects.filter(pk=member.run_id).update(status=RunStatus.FAILED)
    assert advance_search(search.pk) == "failed"
    search.refresh_from_db()
    assert search.status == SearchStatus.FAILED and search.winner is None and "No member run" in search.error


def test_out_of_time_members_still_waiting_are_cancelled(owner, version):
    search = _search(owner, version)
    _finished_member(search, 0.8)
    late = _finished_member(search, 0.5)
    TrainingRun.objects.filter(pk=late.run_id).update(status=RunStatus.QUEUED)
    Search.objects.filter(pk=search.pk).update(deadline_at=timezone.now() - timedelta(seconds=1))

    assert advance_search(search.pk) == "waiting"
    assert TrainingRun.objects.get(pk=late.run_id).status == RunStatus.CANCELLED
    assert advance_search(search.pk) == "succeeded"


def test_cancelling_a_search_cancels_its_live_members_and_stops_it(owner, version):
    search = _search(owner, version)
    done = _finished_member(search, 0.8)
    live = _finished_member(search, 0.5)
    TrainingRun.objects.filter(pk=live.run_id).update(status=RunStatus.QUEUED)

    cancel_search(search)

    assert search.status == SearchStatus.CANCELLED
    assert TrainingRun.objects.get(pk=live.run_id).status == RunStatus.CANCELLED
    assert TrainingRun.objects.get(pk=done.run_id).status == RunStatus.SUCCEEDED
    assert advance_search(search.pk) == "not running"


def _column(page: str, header: str) -> list[str]:
    """Return the text of the members' table column headed `header`, one per row."""
    table = re.search(r'<table class="table search-members">(.*?)</table>', page, re.S).group(1)
    text = [[re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S)]
    column = text[0].index(header)
    return [" ".join(row[column].split()) for row in text[1:]]


def _stopped_early(search, accuracy, *, planned, trained, best, parent=None) -> SearchMember:
    """Return a succeeded member launched for `planned` epochs that stopped early after `trained` (1 s each)."""
    run = saved_run(search.owner, search.version, arch="custom", spec=None, name=f"member {accuracy}")
    now = timezone.now()
    TrainingRun.objects.filter(pk=run.pk).update(started_at=now - timedelta(seconds=trained + 2), finished_at=now,
                                                 best_epoch=best)
    for epoch in range(1, trained + 1):  # the best epoch is best; patience ran out on those after it
        EpochMetric.objects.create(run=run, epoch=epoch, train_loss=1.0, train_accuracy=0.5, val_loss=1.0,
                                   val_accuracy=accuracy if epoch == best else accuracy / 2, lr=0.002,
                                   images_per_s=100.0, seconds=1.0)
    return SearchMember.objects.create(search=search, run=run, rung=1 if parent else 0, arch="custom", lr=0.002,
                                       epochs=planned + (parent.epochs if parent else 0), budget=planned,
                                       parent=parent)


def test_members_that_stop_early_count_the_epochs_they_trained(owner, owner_client, version, api_client):
    search = _search(owner, version, max_epochs=80)
    first = _stopped_early(search, 0.9, planned=40, trained=37, best=27)
    _stopped_early(search, 0.5, planned=40, trained=12, best=2)

    assert advance_search(search.pk) == "rung 1"
    child = search.members.select_related("run").get(rung=1)
    # It continues from the 37 epochs trained, not the 40 planned: 37 more make 74, within the 80 at most.
    assert child.run.config["epochs"] == 37 and child.epochs == 74
    assert "74 epochs in total" in child.run.notes
    # Time is measured per trained epoch: 2 s around the run, 1 s per epoch, 37 epochs.
    assert Search.objects.get(pk=search.pk).progress["estimate_s"] == 2 + 37

    _succeed(child, 0.95, epochs=10)  # it too stopped early: 10 of its 37, its best the 6th
    TrainingRun.objects.filter(pk=child.run_id).update(best_epoch=6)
    Search.objects.filter(pk=search.pk).update(deadline_at=timezone.now() + timedelta(seconds=1))
    assert advance_search(search.pk) == "succeeded"
    search.refresh_from_db()
    assert search.winner_id == child.run_id
    assert search.progress["message"].endswith(
        "95.0% validation accuracy at epoch 43 of the 47 it trained (the weights it kept).")

    page = owner_client.get(reverse("search_detail", args=[search.pk])).content.decode()
    assert _column(page, "Epochs") == ["37", "12", "47 (+10)"]  # not 40, 40 and 80 (+40) as planned
    assert f"continues run {first.run_id} from epoch 27, its best" in page
    curves = json.loads(re.search(r'<script id="compare-curves" type="application/json">(.*?)</script>',
                                  page, re.S).group(1))
    assert [c["epoch"][-1] for c in curves] == [37, 12, 47]
    continued = curves[2]  # its epochs follow the 37 its parent trained, with no gap
    assert continued["epoch"][37:] == list(range(38, 48)) and continued["val_accuracy"][:37] == [None] * 37
    assert continued["val_accuracy"][37] == 0.95

    api_client.force_authenticate(owner)
    members = api_client.get(f"/api/searches/{search.pk}/").json()["members"]
    assert [(m["epochs"], m["budget"]) for m in members] == [(37, 37), (12, 12), (47, 10)]
