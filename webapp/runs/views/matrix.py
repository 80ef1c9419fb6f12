"""Turn an evaluation's stored metrics into what the results pages show: heatmap cells, pairs, tables."""

# Above this many classes a grid is unreadable: the page shows the most confused pairs instead.
MAX_GRID_CLASSES = 50


def row_normalise(matrix: list[list[int]]) -> list[list[float]]:
    """Return each row divided by its sum (a row of zeros stays zeros)."""
    out = []
    for row in matrix:
        total = sum(row)
        out.append([count / total if total else 0.0 for count in row])
    return out


def _shade(value: float, diagonal: bool) -> str:
    """Return an inline background for a heatmap cell: green on the diagonal, red off it."""
    if value <= 0:
        return ""
    alpha = 0.08 + 0.82 * min(value, 1.0)
    rgb = "26,127,75" if diagonal else "179,38,30"
    return f"background: rgba({rgb},{alpha:.2f})"


def heatmap_rows(matrix: list[list[int]], class_names: list[str]) -> list[dict]:
    """Return one dict per true class with its cells: count, row share, shade, and whether diagonal."""
    normalised = row_normalise(matrix)
    rows = []
    for t, (counts, shares) in enumerate(zip(matrix, normalised, strict=True)):
        cells = [{"true": t, "pred": p, "pred_name": class_names[p], "count": count, "share": share, "diagonal": t == p,
                  "style": _shade(share, t == p), "dark": share > 0.55}
                 for p, (count, share) in enumerate(zip(counts, shares, strict=True))]
        rows.append({"index": t, "name": class_names[t], "cells": cells, "total": sum(counts)})
    return rows


def confused_pairs(matrix: list[list[int]], class_names: list[str], limit: int = 30) -> list[dict]:
    """Return the off-diagonal cells with the most images, largest first."""
    pairs = []
    for t, row in enumerate(matrix):
        total = sum(row)
        for p, count in enumerate(row):
            if t != p and count:
                pairs.append({"true": t, "pred": p, "true_name": class_names[t], "pred_name": class_names[p],
                              "count": count, "share": count / total if total else 0.0})
    pairs.sort(key=lambda pair: (-pair["count"], -pair["share"], pair["true"], pair["pred"]))
    return pairs[:limit]


def per_class_rows(metrics: dict) -> list[dict]:
    """Return the per-class scores, worst recall (per-class accuracy) first.

    Each row's `link_pred` is the class its images are most often mistaken for (its errors come first, which is
    what a person opening a class wants to see), or its own index when it has no errors; `errors` counts them.
    """
    matrix = metrics.get("confusion_matrix") or []
    rows = [dict(row) for row in metrics.get("per_class", [])]
    for row in rows:
        t = row["index"]
        counts = matrix[t] if t < len(matrix) else []
        wrong = [(count, p) for p, count in enumerate(counts) if p != t and count]
        count, pred = max(wrong, key=lambda item: (item[0], -item[1])) if wrong else (0, t)
        row["link_pred"], row["errors"] = pred, count
    rows.sort(key=lambda row: (row["recall"], row["f1"], row["index"]))
    return rows


def matrix_difference(before: list[list[int]], after: list[list[int]], class_names: list[str]) -> list[dict]:
    """Return heatmap rows of the row-normalised change from `before` to `after` (positive = more)."""
    old, new = row_normalise(before), row_normalise(after)
    rows = []
    for t, (old_row, new_row) in enumerate(zip(old, new, strict=True)):
        cells = []
        for p, (a, b) in enumerate(zip(old_row, new_row, strict=True)):
            delta = b - a
            # More on the diagonal is better (green); more off it is worse (red).
            good = delta > 0 if t == p else delta < 0
            alpha = 0.08 + 0.82 * min(abs(delta), 1.0) if abs(delta) > 1e-9 else 0
            rgb = "26,127,75" if good else "179,38,30"
            cells.append({"true": t, "pred": p, "delta": delta, "diagonal": t == p,
                          "before": before[t][p], "after": after[t][p],
                          "style": f"background: rgba({rgb},{alpha:.2f})" if alpha else "",
                          "dark": abs(delta) > 0.55})
        rows.append({"index": t, "name": class_names[t], "cells": cells})
    return rows


def largest_changes(diff_rows: list[dict], limit: int = 30) -> list[dict]:
    """Return the cells of a difference heatmap that changed most, for matrices too big for a grid."""
    cells = [dict(cell, true_name=row["name"]) for row in diff_rows for cell in row["cells"] if cell["style"]]
    cells.sort(key=lambda cell: -abs(cell["delta"]))
    return cells[:limit]
