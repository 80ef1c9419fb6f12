"""What the planner (training.search) needs to know about member runs: scores and measured times."""

from __future__ import annotations

from django.db.models import Max, Sum

from training.search import Candidate, MemberResult
from webapp.runs.models import RunStatus
from webapp.searches.models import SearchMember


def member_result(member: SearchMember) -> MemberResult:
    """Return a member's result: its best validation accuracy once its run succeeded, and its timings."""
    run = member.run
    totals = run.epochs.aggregate(best=Max("val_accuracy"), seconds=Sum("seconds"))
    count = run.epochs.count()
    seconds_per_epoch = totals["seconds"] / count if count and totals["seconds"] is not None else None
    overhead = None
    if run.started_at and run.finished_at and totals["seconds"] is not None:
        overhead = max(0.0, (run.finished_at - run.started_at).total_seconds() - totals["seconds"])
    succeeded = run.status == RunStatus.SUCCEEDED
    return MemberResult(key=member.pk, candidate=Candidate(member.arch, member.lr), rung=member.rung,
                        epochs=member.epochs, val_accuracy=totals["best"] if succeeded else None,
                        seconds_per_epoch=seconds_per_epoch, overhead_s=overhead, finished=not run.is_active)


def results(members) -> list[MemberResult]:
    """Return member_result() of each member."""
    return [member_result(member) for member in members]
