"""Turn reports and check rows into what pages and the API show: groups of images, a check's state."""

from __future__ import annotations

from webapp.datachecks.models import DataCheck
from webapp.datachecks.services.duplicates import Report, warnings
from webapp.datasets.models import Image

MAX_GROUPS_SHOWN = 100


def group_tiles(dataset, report: Report, *, limit: int = MAX_GROUPS_SHOWN) -> list[dict]:
    """Return the first `limit` groups (leaking ones first) with each image's name, class and split."""
    leaking = report.leaking_group_ids()
    ordered = sorted(report.groups, key=lambda g: (g[0] not in leaking, -len(g), g[0]))[:limit]
    wanted = [pk for group in ordered for pk in group]
    images = {img.pk: img for img in Image.objects.filter(pk__in=wanted).select_related("label")
              .only("pk", "original_name", "sha256", "split", "label__name", "width", "height")}
    out = []
    for group in ordered:
        members = [images[pk] for pk in group if pk in images]
        splits = sorted({img.split for img in members})
        out.append({
            "images": members,
            "ids": ",".join(str(img.pk) for img in members),
            "state": ",".join(f"{img.pk}:{img.split}" for img in members),
            "leaks": group[0] in leaking,
            "splits": splits,
        })
    return out


def check_payload(check: DataCheck | None) -> dict | None:
    """Return a check row as the page's status poll and the API answer it."""
    if check is None:
        return None
    return {
        "id": check.pk, "kind": check.kind, "automatic": check.automatic, "status": check.status,
        "threshold": check.threshold,
        "version": check.version.number if check.version_id else None,
        "done": check.done, "total": check.total, "counts": check.counts or {},
        "warnings": warnings(check.counts or {}), "error": check.error,
        "created_at": check.created_at, "finished_at": check.finished_at,
    }
