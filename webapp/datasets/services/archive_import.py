"""Import a ZIP (folders or labels.csv) into a dataset, the web's side: check the upload, store it, queue it.

The worker runs it entry by entry (webapp/datasets/worker.py).
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import transaction

from webapp.core import reaping
from webapp.datasets.archive import ArchiveLimits, BadArchive, archive_layout, count_entries, read_labels_csv
from webapp.datasets.csvlabels import CsvLabelError, parse_labels_csv
from webapp.datasets.models import Dataset, Import, ImportKind
from webapp.datasets.services.reaper import IMPORTS
from webapp.datasets.services.store import display_name
from webapp.datasets.validation import RejectedFile, as_sentence, format_bytes

IMPORT_TASK = "datasets.import_archive"


def archive_limits() -> ArchiveLimits:
    """Return the ZIP limits from settings (each file may be as big as one upload)."""
    # Images barely compress, so an archive unpacks to little more than its size; twice is generous.
    total = max(ArchiveLimits().max_total_bytes, 2 * settings.LUX_MAX_ARCHIVE_BYTES)
    return ArchiveLimits(max_entry_bytes=settings.LUX_MAX_UPLOAD_BYTES, max_total_bytes=total)


def start_archive_import(dataset: Dataset, uploaded_file, *, user) -> Import:
    """Check the upload is a usable ZIP, store it, queue its import and return the queued Import."""
    limit = settings.LUX_MAX_ARCHIVE_BYTES
    if uploaded_file.size > limit:
        raise ValidationError(f"The archive is {format_bytes(uploaded_file.size)}; "
                              f"the limit is {format_bytes(limit)}.")
    total, layout = _inspect(uploaded_file)
    uploaded_file.seek(0)
    token = reaping.new_token()
    job = Import(dataset=dataset, created_by=user, kind=ImportKind.ARCHIVE, original_name=display_name(
        uploaded_file.name or "archive.zip"), total=total, layout=layout, **IMPORTS.queued_fields(token))
    job.archive.save("archive", uploaded_file, save=False)
    try:
        with transaction.atomic():
            job.save()
            reaping.send_on_commit(IMPORTS, job.pk, token)
    except reaping.QueueUnreachable:
        raise  # saved with its archive: the reaper sends it once the broker is back
    except BaseException:
        default_storage.delete(job.archive.name)
        raise
    return job


def _inspect(uploaded_file) -> tuple[int, str]:
    """Return (files to check, layout) of an uploaded ZIP, or raise ValidationError saying what is wrong."""
    limits = archive_limits()
    try:
        uploaded_file.seek(0)
        layout = archive_layout(uploaded_file, limits=limits)
        if layout == "csv":
            parse_labels_csv(read_labels_csv(uploaded_file, limits=limits))
        total = count_entries(uploaded_file, limits=limits)
    except BadArchive as e:
        raise ValidationError(as_sentence(e.message))
    except (CsvLabelError, RejectedFile) as e:  # RejectedFile: the labels file itself is too big or damaged
        raise ValidationError(as_sentence(f"labels.csv: {e.message}"))
    if total == 0:
        raise ValidationError("The archive holds no files to import (only folders, hidden or system files, "
                              "or other archives).")
    return total, layout



