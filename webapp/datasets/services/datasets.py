"""Create, count and delete whole datasets."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import models, transaction
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce

from webapp.datasets.models import Dataset, DatasetClass, DatasetVersion, Image, Import
from webapp.datasets.services.store import remove_files_on_commit


def create_dataset(*, owner, name: str, description: str = "") -> Dataset:
    """Create a dataset, refusing a name the owner already uses."""
    name = (name or "").strip()
    if not name:
        raise ValidationError("A dataset needs a name.")
    if Dataset.objects.filter(owner=owner, name=name).exists():
        raise ValidationError(f"You already have a dataset named '{name}'.")
    return Dataset.objects.create(owner=owner, name=name[:200], description=description)


def delete_dataset(dataset: Dataset) -> None:
    """Delete a dataset, its versions and its files, unless a training run uses one of its versions."""
    with transaction.atomic():
        versions = DatasetVersion.objects.filter(dataset=dataset)
        used = [v.number for v in versions if _used_by_runs(v)]
        if used:
            listed = ", ".join(f"v{n}" for n in used)
            raise ValidationError(f"Training runs use version(s) {listed} of this dataset; delete those runs first.")
        images = list(Image.objects.filter(dataset=dataset).only("pk", "file", "thumbnail"))
        archives = list(Import.objects.filter(dataset=dataset).exclude(archive="").values_list("archive", flat=True))
        for version in versions:
            version.entries.all().delete()
            version.delete()
        dataset.delete()
        remove_files_on_commit(images)
        transaction.on_commit(lambda: _delete_names(archives))


def _delete_names(names: list[str]) -> None:
    for name in names:
        default_storage.delete(name)


def _used_by_runs(version: DatasetVersion) -> bool:
    """Return whether any row of another app (training runs, evaluations) points at the version."""
    for rel in version._meta.related_objects:
        if rel.on_delete is models.CASCADE:  # its entries, the checks made of it: they go with the version
            continue
        if rel.related_model.objects.filter(**{rel.field.name: version}).exists():
            return True
    return False


def with_counts(datasets):
    """Return `datasets` annotated with class_count and version_count (image_count is stored on the row)."""
    def count(model, **filters):
        rows = (model.objects.filter(dataset=OuterRef("pk"), **filters).order_by().values("dataset")
                .annotate(n=Count("pk")).values("n"))
        return Coalesce(Subquery(rows), 0)

    return datasets.annotate(class_count=count(DatasetClass), version_count=count(DatasetVersion))
