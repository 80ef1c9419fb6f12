"""What makes a search advance without anyone waiting on it: a member's training task ending, and the reaper."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import make_run, make_version
from webapp.core import reaping
from webapp.runs.tasks import train_run
from webapp.searches import tasks
from webapp.searches.models import Search, SearchMember, SearchStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(monkeypatch):
    """Record the searches an advance is sent for, instead of sending it."""
    ids = []
    monkeypatch.setattr(tasks.advance_search, "delay", ids.append)
    return ids


def _search(owner, version, status=SearchStatus.RUNNING) -> Search:
    return Search.objects.create(owner=owner, dataset=version.dataset, version=version, budget_minutes=5,
                                 status=status, deadline_at=timezone.now() + timedelta(minutes=5))


def test_a_members_training_task_ending_advances_its_search(owner, media, sent):
    version = make_version(owner, name="Squares", per_split={"train": 2, "val": 1, "test": 1})
    search = _search(owner, version)
    member = make_run(owner, version)
    SearchMember.objects.create(search=search, run=member, rung=0, arch="custom", lr=0.002, epochs=2, budget=2)
    alone = make_run(owner, version)

    tasks.advance_after_member(sender=train_run, args=[alone.pk])
    assert sent == []
    tasks.advance_after_member(sender=train_run, args=[member.pk])
    assert sent == [search.pk]
    Search.objects.filter(pk=search.pk).update(status=SearchStatus.SUCCEEDED)
    tasks.advance_after_member(sender=train_run, args=[member.pk])
    assert sent == [search.pk]  # a finished search is left alone


def test_every_reaper_look_advances_the_running_searches(owner, media, sent):
    version = make_version(owner, name="Squares", per_split={"train": 2, "val": 1, "test": 1})
    running = _search(owner, version)
    _search(owner, version, status=SearchStatus.CANCELLED)

    reaping.reap_all()

    assert sent == [running.pk]
