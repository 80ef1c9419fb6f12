"""Follow the datasets app's changes: a LabelEvent for every label it changes (browse, image page, gallery, data
checks, API), and a new version's labels counted by how they were made."""

from __future__ import annotations

from django.db.models import Count, OuterRef, Subquery

from webapp.datasets.models import DatasetClass, DatasetVersion
from webapp.labelling.models import LabelEvent, Origin

# A version's images whose label no event records: given at upload or import, or before label history existed.
UNRECORDED = "unrecorded"

# What a change from outside the labelling page may say it was: a bulk accept always goes through a LabelBatch.
ORIGINS = (Origin.HAND, Origin.SUGGESTION)


def record_label_changes(sender, *, dataset, changes, user=None, origin: str = Origin.HAND, model_ref: str = "",
                         **kwargs) -> None:
    """Write one event per changed image, in one bulk insert (receiver of datasets.signals.labels_changed)."""
    if origin not in ORIGINS:
        raise ValueError(f"A label change's origin must be one of {', '.join(ORIGINS)}, not {origin!r}.")
    if origin != Origin.HAND and not model_ref:
        raise ValueError("An accepted suggestion must name its model.")
    who = user if user is not None and user.is_authenticated else None
    # The names are kept on the event (the history reads right after a rename): one query for all of them.
    used = {pk for _, old, new in changes for pk in (old, new) if pk is not None}
    names = dict(DatasetClass.objects.filter(pk__in=used).values_list("pk", "name")) if used else {}
    LabelEvent.objects.bulk_create([
        LabelEvent(dataset=dataset, image_id=image_id, label_id=new, label_name=names.get(new, ""),
                   previous_id=old, previous_name=names.get(old, ""), origin=origin, model_ref=model_ref[:100],
                   user=who)
        for image_id, old, new in changes], batch_size=2000)


def origin_counts(version: DatasetVersion) -> dict[str, int]:
    """Return how many of the version's images got their label each way (their latest event not undone)."""
    latest = (LabelEvent.objects.filter(image=OuterRef("image_id"), undone_at__isnull=True)
              .order_by("-created_at", "-id").values("origin")[:1])
    # One grouped query; each image's subquery reads the (image, -created_at) index.
    rows = (version.entries.order_by().annotate(origin=Subquery(latest)).values("origin")
            .annotate(n=Count("id")).values_list("origin", "n"))
    counts = {origin: 0 for origin in Origin.values} | {UNRECORDED: 0}
    for origin, n in rows:
        counts[origin or UNRECORDED] = counts.get(origin or UNRECORDED, 0) + n
    return counts


def count_origins(sender, *, version: DatasetVersion, **kwargs) -> None:
    """Store the new version's labels per origin in its counts (receiver of datasets.signals.version_frozen)."""
    version.counts = {**(version.counts or {}), "per_origin": origin_counts(version)}
    DatasetVersion.objects.filter(pk=version.pk).update(counts=version.counts)


def connect() -> None:
    """Connect the receivers (LabellingConfig.ready); the uids keep a second call from connecting them twice."""
    from webapp.datasets.signals import labels_changed, version_frozen

    labels_changed.connect(record_label_changes, dispatch_uid="labelling.record_label_changes")
    version_frozen.connect(count_origins, dispatch_uid="labelling.count_origins")
