"""What the planner (training.search) needs to know about member runs: scores, epochs trained, measured times.

Epochs are those a run recorded, never those it was launched for: a member with early stopping (patience)
may end well before its planned epochs. A member that continues another counts the epochs of every run
before it, and starts from that run's best epoch (the weights it kept), which may come before its last one.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Max, Sum

from training.search import Candidate, MemberResult
from webapp.runs.models import EpochMetric, RunStatus
from webapp.searches.models import SearchMember


@dataclass(frozen=True)
class Trained:
    """The epochs a member trained, counted from the first run of the chain it continues."""

    before: int  # epochs the runs it continues trained: its own epochs follow these on the curves
    own: int  # epochs its own run recorded (fewer than planned when it stopped early)
    starts_from: int | None  # the epoch whose weights it started from (the parent's best); None: from scratch
    best: int | None  # its best epoch (the weights its run kept), counted the same way; None: no epoch yet

    @property
    def total(self) -> int:
        return self.before + self.own


def training(search_id: int) -> dict[int, Trained]:
    """Return Trained of every member of a search, by member id (two queries)."""
    members = {m["pk"]: m for m in SearchMember.objects.filter(search_id=search_id).values(
        "pk", "parent_id", "run_id", "run__best_epoch")}
    counts = dict(EpochMetric.objects.filter(run__search_member__search_id=search_id).values("run")
                  .annotate(n=Count("id")).values_list("run", "n"))
    known: dict[int, Trained] = {}

    def of(pk: int) -> Trained:
        if pk not in known:
            member = members[pk]
            parent = of(member["parent_id"]) if member["parent_id"] in members else None
            before = parent.total if parent else 0
            own = counts.get(member["run_id"], 0)
            best = min(member["run__best_epoch"] or own, own)  # no best recorded (yet): the latest epoch
            known[pk] = Trained(before=before, own=own, best=before + best if best else None,
                                starts_from=(parent.best or parent.total) if parent else None)
        return known[pk]

    for pk in members:
        of(pk)
    return known


def member_result(member: SearchMember, trained: Trained | None = None) -> MemberResult:
    """Return a member's result: its best validation accuracy once its run succeeded, epochs trained, timings."""
    run = member.run
    trained = trained or training(member.search_id)[member.pk]
    totals = run.epochs.aggregate(best=Max("val_accuracy"), seconds=Sum("seconds"))
    # The best epoch's validation loss (the lowest among epochs at the best accuracy) breaks ties on accuracy.
    best_loss = (run.epochs.filter(val_accuracy=totals["best"], val_loss__isnull=False).order_by("val_loss")
                 .values_list("val_loss", flat=True).first() if totals["best"] is not None else None)
    # Per epoch it did train (not per planned one): an early stop must not make epochs look cheaper.
    seconds_per_epoch = totals["seconds"] / trained.own if trained.own and totals["seconds"] is not None else None
    overhead = None
    if run.started_at and run.finished_at and totals["seconds"] is not None:
        overhead = max(0.0, (run.finished_at - run.started_at).total_seconds() - totals["seconds"])
    succeeded = run.status == RunStatus.SUCCEEDED
    return MemberResult(key=member.pk, candidate=Candidate(member.arch, member.lr), rung=member.rung,
                        epochs=trained.total, val_accuracy=totals["best"] if succeeded else None,
                        seconds_per_epoch=seconds_per_epoch, overhead_s=overhead, finished=not run.is_active,
                        val_loss=best_loss if succeeded else None)


def results(members) -> list[MemberResult]:
    """Return member_result() of each member (all of one search)."""
    members = list(members)
    trained = training(members[0].search_id) if members else {}
    return [member_result(member, trained.get(member.pk)) for member in members]
