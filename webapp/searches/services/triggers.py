"""Sending "advance this search" to the default queue: after a member run's task, and at each reaper look."""

from __future__ import annotations

import logging

from webapp.core.reaping import BROKER_ERRORS
from webapp.searches.models import Search, SearchMember, SearchStatus

log = logging.getLogger(__name__)


def advance_later(search_id: int) -> bool:
    """Send the advance task for `search_id`; return whether the broker took it (else the next look sends it)."""
    from webapp.searches.tasks import advance_search

    try:
        advance_search.delay(search_id)
    except BROKER_ERRORS:
        log.warning("could not send the advance of search %s", search_id, exc_info=True)
        return False
    return True


def advance_later_for_run(run_id) -> None:
    """Advance the running search that run `run_id` belongs to, if any."""
    member = SearchMember.objects.filter(run_id=run_id, search__status=SearchStatus.RUNNING).first()
    if member is not None:
        advance_later(member.search_id)


def advance_all_running() -> list[int]:
    """Send an advance for every running search; return their ids."""
    ids = list(Search.objects.filter(status=SearchStatus.RUNNING).values_list("pk", flat=True))
    return [pk for pk in ids if advance_later(pk)]
