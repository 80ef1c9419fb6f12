"""A real worker runs a whole 1-minute search on tiny digits and ends it with a winner."""

import pytest

from tests.factories import digits_dataset, wait_for
from webapp.runs.models import RunStatus
from webapp.searches.models import Search, SearchStatus
from webapp.searches.services.launching import start_search

pytestmark = [pytest.mark.slow]


def test_a_one_minute_search_ends_with_the_best_member_as_winner(worker, owner):
    dataset, _ = digits_dataset(owner, per_class=12, size=16)
    search = start_search(owner, dataset, 1)

    search = wait_for(lambda: Search.objects.filter(pk=search.pk).exclude(status=SearchStatus.RUNNING).first(),
                      timeout=300, interval=1, what="the search to end", log=worker.log)

    assert search.status == SearchStatus.SUCCEEDED, (search.error, search.progress, worker.log()[-4000:])
    members = list(search.members.select_related("run"))
    assert len(members) >= 4 and all(not m.run.is_active for m in members)
    finished = [m for m in members if m.run.status == RunStatus.SUCCEEDED]
    best = max(m.run.epochs.order_by("-val_accuracy").first().val_accuracy for m in finished)
    winner = next(m for m in members if m.run_id == search.winner_id)
    assert winner.run.epochs.order_by("-val_accuracy").first().val_accuracy == best
    assert search.finished_at is not None
    # The budget held: the search ended within its minute, plus the last running member's own end.
    assert (search.finished_at - search.created_at).total_seconds() < 60 + 60
