"""Advance a search from what its member runs left in the database (the code the Celery task calls).

Advancing is idempotent and keeps no state outside the database: a worker that dies mid-way leaves a search
that the next trigger (a member run finishing, or the reaper's periodic look) advances from where it is.
Only one advance can launch a rung: the search's rung number moves by compare-and-set first.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from training import search as planner
from webapp.searches.models import Search, SearchMember, SearchStatus
from webapp.searches.services.control import cancel_members
from webapp.searches.services.launching import launch_member
from webapp.searches.services.results import results, training


def advance_search(search_id: int) -> str:
    """Look at the search's latest rung: wait for it, start the next, or end the search with its winner."""
    search = Search.objects.filter(pk=search_id).select_related("owner", "version").first()
    if search is None:
        return "not running"
    if search.status != SearchStatus.RUNNING:
        if search.status == SearchStatus.CANCELLED:  # a rung launched while the cancel looked: stop it too
            cancel_members(search)
        return "not running"
    members = list(search.members.select_related("run"))
    current = [m for m in members if m.rung == search.rung]
    now = timezone.now()
    done = results(members)
    if any(m.run.is_active for m in current):
        if now >= search.deadline_at and any(r.val_accuracy is not None for r in done):
            # Out of time: members still waiting would overrun the budget; those running finish.
            cancel_members(search, only_queued=True)
        _progress(search, members)
        return "waiting"
    remaining_s = (search.deadline_at - now).total_seconds()
    rung = [r for r in done if r.rung == search.rung]
    step = planner.next_rung(rung, remaining_s=remaining_s, max_epochs=search.plan.get("max_epochs", 1))
    if step is not None and _launch_rung(search, step, {m.pk: m for m in members}):
        return f"rung {step.rung}"
    return _finish(search, done)


def _launch_rung(search: Search, step: planner.NextRung, by_key: dict[int, SearchMember]) -> bool:
    """Launch the rung's continuations once (compare-and-set on the rung number); return whether any started."""
    with transaction.atomic():
        if not Search.objects.filter(pk=search.pk, rung=step.rung - 1, status=SearchStatus.RUNNING).update(
                rung=step.rung):
            return True  # another advance took this rung: it is launching it
        launched = [launch_member(search, arch=p.candidate.arch, lr=p.candidate.lr, rung=step.rung,
                                  epochs=step.extra_epochs, parent=by_key[p.key]) for p in step.parents]
        if not any(launched):
            transaction.set_rollback(True)  # nothing could start: the search ends on what it has
            return False
        Search.objects.filter(pk=search.pk).update(progress={
            "message": f"Rung {step.rung}: the best {len(step.parents)} continue for {step.extra_epochs} more "
                       f"epoch{'s' if step.extra_epochs != 1 else ''} (about {round(step.estimate_s)} s).",
            "estimate_s": round(step.estimate_s, 1)})
    return True


def _finish(search: Search, done: list[planner.MemberResult]) -> str:
    """End the search with the best member on validation accuracy (failed when no member succeeded)."""
    best = planner.winner(done)
    members = {m.pk: m for m in search.members.all()}
    if best is None:
        fields = {"status": SearchStatus.FAILED, "error": "No member run succeeded; their pages say why.",
                  "progress": {"message": "Failed: no member run succeeded."}}
    else:
        run_id = members[best.key].run_id
        kept = training(search.pk)[best.key].best or best.epochs
        # Its weights are those of its best epoch: say so when it trained past it (an early stop does).
        when = (f"after {best.epochs} epochs" if kept == best.epochs
                else f"at epoch {kept} of the {best.epochs} it trained (the weights it kept)")
        fields = {"status": SearchStatus.SUCCEEDED, "winner_id": run_id, "progress": {
            "message": f"Done: run {run_id} ({best.candidate.arch}, lr {best.candidate.lr:g}) is the best, "
                       f"{best.val_accuracy:.1%} validation accuracy {when}."}}
    Search.objects.filter(pk=search.pk, status=SearchStatus.RUNNING).update(finished_at=timezone.now(), **fields)
    return str(fields["status"])


def _progress(search: Search, members: list[SearchMember]) -> None:
    """Store how many members have finished, for the page's progress bar."""
    finished = sum(not m.run.is_active for m in members)
    Search.objects.filter(pk=search.pk, status=SearchStatus.RUNNING).update(
        progress={**(search.progress or {}), "members": len(members), "finished": finished})
