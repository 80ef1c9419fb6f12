"""Compare 2 to 4 runs: config differences, overlaid curves, per-class accuracy and matrix differences."""

from django.shortcuts import render
from django.views.decorators.http import require_GET

from webapp.runs.services.access import get_run, primary_evaluation
from webapp.runs.views.matrix import MAX_GRID_CLASSES, largest_changes, matrix_difference

MIN_RUNS, MAX_RUNS = 2, 4


def _selected_ids(request) -> list[str]:
    """Return the run ids asked for (?run=1&run=2 or ?runs=1,2), in order, without repeats."""
    raw = request.GET.getlist("run") + ",".join(request.GET.getlist("runs")).split(",")
    ids = []
    for value in raw:
        value = value.strip()
        if value and value not in ids:
            ids.append(value)
    return ids


def config_differences(runs) -> tuple[list[dict], list[str]]:
    """Return the settings whose values differ between runs, and the names of those that are equal."""
    described = [dict(run.config, dataset_version=str(run.version), arch=run.arch) for run in runs]
    keys = sorted(set().union(*described), key=lambda key: (key not in ("arch", "dataset_version"), key))
    differing, same = [], []
    for key in keys:
        values = [config.get(key) for config in described]
        if all(value == values[0] for value in values):
            same.append(key)
        else:
            differing.append({"key": key, "values": values})
    return differing, same


def _why_not_comparable(evaluations, runs) -> str:
    """Return why per-class results cannot be put side by side, or "" when they can."""
    for run, evaluation in zip(runs, evaluations, strict=True):
        if evaluation is None:
            return f"{run} has no evaluation yet (it is {run.get_status_display().lower()})."
    first = evaluations[0].class_names
    for run, evaluation in zip(runs[1:], evaluations[1:], strict=True):
        if evaluation.class_names != first:
            missing = sorted(set(first) - set(evaluation.class_names))
            extra = sorted(set(evaluation.class_names) - set(first))
            detail = []
            if missing:
                detail.append(f"lacks {', '.join(missing[:5])}")
            if extra:
                detail.append(f"adds {', '.join(extra[:5])}")
            if not detail:
                detail.append("orders them differently")
            return (f"{run} was evaluated on different classes than {runs[0]} ({'; '.join(detail)}), "
                    "so per-class results cannot be put side by side.")
    return ""


def per_class_side_by_side(evaluations) -> list[dict]:
    """Return one row per class: each run's accuracy and its change from the first run, worst first."""
    tables = [{row["index"]: row for row in ev.metrics.get("per_class", [])} for ev in evaluations]
    rows = []
    for index, name in enumerate(evaluations[0].class_names):
        accs = [table[index]["recall"] if index in table else None for table in tables]
        base = accs[0]
        cells = [{"accuracy": acc, "delta": None if i == 0 or acc is None or base is None else acc - base}
                 for i, acc in enumerate(accs)]
        rows.append({"name": name, "cells": cells, "base": base or 0.0})
    rows.sort(key=lambda row: row["base"])
    return rows


def _curves(runs) -> list[dict]:
    """Return each run's epoch series for the overlaid charts."""
    curves = []
    for run in runs:
        epochs = list(run.epochs.order_by("epoch"))
        curves.append({
            "label": str(run), "epoch": [e.epoch for e in epochs],
            "train_loss": [e.train_loss for e in epochs], "val_loss": [e.val_loss for e in epochs],
            "train_accuracy": [e.train_accuracy for e in epochs], "val_accuracy": [e.val_accuracy for e in epochs],
        })
    return curves


@require_GET
def run_compare(request):
    """Put 2 to 4 runs side by side."""
    ids = _selected_ids(request)
    runs = [get_run(request.user, pk) for pk in ids[:MAX_RUNS]]
    context = {"runs": runs, "min_runs": MIN_RUNS, "max_runs": MAX_RUNS, "too_many": len(ids) > MAX_RUNS}
    if len(runs) < MIN_RUNS:
        return render(request, "runs/compare.html", dict(context, problem="Pick at least two runs to compare."))
    evaluations = [primary_evaluation(run) for run in runs]
    differing, same = config_differences(runs)
    why = _why_not_comparable(evaluations, runs)
    context.update(differing=differing, same=same, curves=_curves(runs), why=why,
                   columns=list(zip(runs, evaluations, strict=True)))
    if not why:
        names = evaluations[0].class_names
        base = evaluations[0].metrics.get("confusion_matrix", [])
        grid = len(names) <= MAX_GRID_CLASSES
        diffs = []
        for run, evaluation in zip(runs[1:], evaluations[1:], strict=True):
            rows = matrix_difference(base, evaluation.metrics.get("confusion_matrix", []), names)
            changes = None if grid else largest_changes(rows)
            diffs.append({"run": run, "rows": rows if grid else None, "changes": changes})
        context.update(per_class=per_class_side_by_side(evaluations), names=names, diffs=diffs, grid=grid)
    return render(request, "runs/compare.html", context)
