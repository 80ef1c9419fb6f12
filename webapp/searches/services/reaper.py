"""The searches' periodic tick for the reaper (webapp.core.reaping): every look advances running searches.

A search holds no worker of its own (its members are runs, which the runs kind reaps), so its kind has
nothing stale or unsent: it only sweeps, sending an advance for each running search. That covers a member's
"finished" trigger lost with a dead worker, and the budget's deadline passing while members still wait.
"""

from __future__ import annotations

from webapp.core import reaping
from webapp.core.reaping import JobKind
from webapp.searches.services.triggers import advance_all_running


class SearchTick(JobKind):
    """Advance running searches at each look; nothing to requeue or resend."""

    name = "searches.tick"
    noun = "search"

    def stale(self, cutoff):
        return []

    def unsent(self, cutoff):
        return []

    def sweep(self, now):
        advance_all_running()
        return {}  # nothing to report: advancing is routine, not a rescue


TICK = reaping.register(SearchTick())
