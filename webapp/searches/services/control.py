"""What a user does to a search after starting it: cancel it (its live members are cancelled with it)."""

from __future__ import annotations

from django.utils import timezone

from webapp.runs.models import ACTIVE_STATUSES
from webapp.runs.services.control import RunStateError, cancel_run
from webapp.searches.models import Search, SearchStatus


class SearchStateError(Exception):
    """The search is not in a state that allows the action; the message says why, for a person."""


def cancel_search(search: Search) -> None:
    """Cancel a running search: no rung starts any more, and every queued or running member is cancelled."""
    ended = Search.objects.filter(pk=search.pk, status=SearchStatus.RUNNING).update(
        status=SearchStatus.CANCELLED, finished_at=timezone.now(),
        progress={"message": "Cancelled: no further rung starts; live members were cancelled."})
    if not ended:
        search.refresh_from_db(fields=["status"])
        raise SearchStateError(f"This search is {search.status}; only a running search can be cancelled.")
    cancel_members(search)
    search.refresh_from_db()


def cancel_members(search: Search, *, only_queued: bool = False) -> list[int]:
    """Cancel the search's live member runs (only those still waiting, with `only_queued`); return their ids."""
    statuses = ("queued",) if only_queued else ACTIVE_STATUSES
    cancelled = []
    for member in search.members.select_related("run").filter(run__status__in=statuses):
        try:
            cancel_run(member.run)
        except RunStateError:  # it finished meanwhile: nothing to stop
            continue
        cancelled.append(member.run_id)
    return cancelled
