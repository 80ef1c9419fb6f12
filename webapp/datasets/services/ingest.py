"""Ways images come in: one file, a browser or API batch, and a ZIP import (run by worker.py)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from webapp.datachecks.services.checks import compare_added_on_commit
from webapp.datasets.models import Dataset, DatasetClass, Import, ImportKind, ImportStatus, Split
from webapp.datasets.services.archive_import import start_archive_import
from webapp.datasets.services.rows import insert_items
from webapp.datasets.services.store import (
    FileOutcome,
    add_image,
    count_outcomes,
    image_limits,
)

__all__ = ["FileOutcome", "add_image", "upload_files", "start_archive_import", "image_limits",
           "max_files_per_request", "count_outcomes", "insert_items"]


def max_files_per_request() -> int:
    """Return how many files one upload request may carry (Django refuses more while parsing)."""
    return settings.DATA_UPLOAD_MAX_NUMBER_FILES


def upload_files(dataset: Dataset, files: list, *, label: DatasetClass | None, split: str | None, user) -> Import:
    """Check and store a batch of uploaded files; return its finished Import with one item per file."""
    limit = max_files_per_request()
    if not files:
        raise ValidationError("Choose at least one file to upload.")
    if len(files) > limit:
        raise ValidationError(f"Too many files in one request: send at most {limit} files per request.")
    if label is not None and label.dataset_id != dataset.pk:
        raise ValidationError("That class belongs to another dataset.")
    if split and split not in Split.values:
        raise ValidationError(f"Split must be one of {', '.join(Split.values)}.")
    now = timezone.now()
    batch = Import.objects.create(dataset=dataset, created_by=user, kind=ImportKind.UPLOAD,
                                  status=ImportStatus.RUNNING, total=len(files), started_at=now,
                                  original_name=f"{len(files)} uploaded file{'s' * (len(files) != 1)}")
    outcomes = [add_image(dataset, f, name=getattr(f, "name", "") or "upload", label=label, split=split,
                          source_import=batch, touch=False) for f in files]
    insert_items(batch, outcomes)
    for field, n in count_outcomes(outcomes).items():
        setattr(batch, field, n)
    batch.done = len(files)
    batch.status = ImportStatus.SUCCEEDED
    batch.finished_at = timezone.now()
    batch.save()
    if any(o.accepted for o in outcomes):
        dataset.touch()
        compare_added_on_commit(dataset)
    batch.outcomes = outcomes  # the live objects, for a response that lists each file
    return batch
