"""A search as its page shows it: the members' table, their curves and the live progress."""

from __future__ import annotations

from webapp.searches.models import Search
from webapp.searches.services.results import member_result, training


def member_rows(search: Search) -> list[dict]:
    """Return one row per member: run, architecture, lr, rung, epochs trained, val accuracy, time, status, winner.

    `epochs` counts those of the runs it continues, `budget` its own; `continues_from` is the epoch whose
    weights it started from when that is not the last one its parent trained (the parent stopped past its best).
    """
    trained = training(search.pk)
    rows = []
    for member in search.members.select_related("run", "parent"):
        done = trained[member.pk]
        result = member_result(member, done)
        rows.append({"run": member.run, "run_id": member.run_id, "arch": member.arch, "lr": member.lr,
                     "rung": member.rung, "epochs": done.total, "budget": done.own,
                     "continues_from": done.starts_from if done.starts_from != done.before else None,
                     "val_accuracy": result.val_accuracy, "seconds": member.run.train_seconds,
                     "status": member.run.status, "winner": member.run_id == search.winner_id,
                     "parent_run_id": member.parent.run_id if member.parent_id else None})
    return rows


def curves(search: Search) -> list[dict]:
    """Return each member's curves, a continuation's epochs placed right after the last one its parent trained."""
    trained = training(search.pk)
    out = []
    for member in search.members.select_related("run"):
        offset = trained[member.pk].before  # epochs the runs it continues trained (not those planned)
        epochs = list(member.run.epochs.order_by("epoch"))
        pad = [None] * offset
        out.append({
            "label": f"run {member.run_id} · {member.arch} · lr {member.lr:g}",
            "epoch": list(range(1, offset + len(epochs) + 1)),
            "train_loss": pad + [e.train_loss for e in epochs], "val_loss": pad + [e.val_loss for e in epochs],
            "train_accuracy": pad + [e.train_accuracy for e in epochs],
            "val_accuracy": pad + [e.val_accuracy for e in epochs]})
    return out


def search_status(search: Search) -> dict:
    """Return the live state the page polls: status, progress message, members finished, winner."""
    members = list(search.members.select_related("run"))
    return {"id": search.pk, "status": search.status, "message": (search.progress or {}).get("message", ""),
            "members": len(members), "finished": sum(not m.run.is_active for m in members),
            "rung": search.rung, "winner": search.winner_id, "error": search.error}
