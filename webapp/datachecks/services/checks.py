"""Start data checks as jobs, and record what a frozen version was checked for when it is made."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from webapp.core.reaping import new_token, send_on_commit
from webapp.datachecks.models import CheckKind, CheckStatus, DataCheck
from webapp.datachecks.services import duplicates, hashes
from webapp.datachecks.services.reaper import CHECKS
from webapp.datasets.models import Dataset, DatasetVersion
from webapp.datasets.services.tally import read_tally

log = logging.getLogger(__name__)
# A version with at most this many images lacking a hash is checked while it is frozen; more go to a job.
INLINE_HASH_LIMIT = 200


def start_check(dataset: Dataset, user, *, kind: str = CheckKind.DUPLICATES, threshold: int | None = None,
                version: DatasetVersion | None = None, automatic: bool = False) -> DataCheck:
    """Queue a check of the dataset's live images (or of `version`); one already waiting or running is returned."""
    with transaction.atomic():
        Dataset.objects.select_for_update().filter(pk=dataset.pk).first()  # one start at a time per dataset
        busy = DataCheck.objects.filter(dataset=dataset, kind=kind, version=version,
                                        status__in=(CheckStatus.QUEUED, CheckStatus.RUNNING)).first()
        if busy is not None:
            return busy
        token = new_token()
        check = DataCheck.objects.create(
            dataset=dataset, version=version, kind=kind, created_by=user, automatic=automatic,
            threshold=threshold if kind == CheckKind.DUPLICATES else None,
            status=CheckStatus.QUEUED, task_id=token, queued_at=timezone.now())
        send_on_commit(CHECKS, check.pk, token, quiet=True)  # unsent: the reaper sends it later
    return check


def compare_added(dataset: Dataset) -> DataCheck | None:
    """Start the check that compares images just added with the others, where pages leave that to a check.

    Call it after adding images. Pages compare the new images themselves in a dataset of up to
    duplicates.INLINE_COMPARE_LIMIT hashed images, and in one never checked they search no more than
    duplicates.PAGE_SEARCH_LIMIT pairs anyway (someone starts the first check, which compares all); otherwise
    this queues an automatic check, which keeps the last check's pairs and compares only what joined since.
    """
    tally = read_tally(dataset.pk)
    if tally.hashed <= duplicates.INLINE_COMPARE_LIMIT:
        return None
    last = latest(dataset, finished=True)
    if last is None or not last.results or last.results.get("generation") == tally.generation:
        return None
    # At the last check's threshold: its pairs go that far, and pages asking for it keep reusing them.
    threshold = last.threshold if last.threshold is not None else duplicates.DEFAULT_THRESHOLD
    return start_check(dataset, None, threshold=threshold, automatic=True)


def compare_added_on_commit(dataset: Dataset) -> None:
    """Call compare_added once the transaction adding images commits; never fail what added them."""
    def start() -> None:
        try:
            compare_added(dataset)
        except Exception:  # the images are stored: the page counts them as not compared, and says how to
            log.exception("could not start comparing the images added to dataset %s", dataset.pk)

    transaction.on_commit(start)


def latest(dataset: Dataset, *, kind: str = CheckKind.DUPLICATES, version: DatasetVersion | None = None,
           finished: bool = False) -> DataCheck | None:
    """Return the newest check of this kind of the dataset's live images (or of `version`; of any for labels)."""
    checks = DataCheck.objects.filter(dataset=dataset, kind=kind).select_related("version")
    if kind == CheckKind.DUPLICATES or version is not None:  # labels and outliers: only ever of versions
        checks = checks.filter(version=version)
    if finished:
        checks = checks.filter(status=CheckStatus.SUCCEEDED)
    return checks.order_by("-created_at", "-id").first()


def check_version(version: DatasetVersion) -> DataCheck | None:
    """Record the leakage check of a version as it is frozen: at once, or as a job when many hashes are missing."""
    try:
        with transaction.atomic():  # a savepoint: whatever goes wrong here, the freeze itself stands
            rows = duplicates.version_rows(version)
            missing = hashes.missing_among(rows)
            if len(missing) > INLINE_HASH_LIMIT:
                return start_check(version.dataset, version.created_by, version=version,
                                   threshold=duplicates.DEFAULT_THRESHOLD)
            if missing:
                hashes.fill_missing(missing)
                rows = duplicates.version_rows(version)
            # Nothing has checked a version frozen a moment ago: only a live check before it can lend its pairs.
            fields = duplicates.check_fields(rows, duplicates.DEFAULT_THRESHOLD, duplicates.results_before(version))
            now = timezone.now()
            return DataCheck.objects.create(
                dataset=version.dataset, version=version, kind=CheckKind.DUPLICATES, revision=version.revision,
                created_by=version.created_by, status=CheckStatus.SUCCEEDED, started_at=now, finished_at=now,
                done=len(rows), total=len(rows), **fields)
    except Exception:  # a check must never fail the freeze it describes
        log.exception("leakage check of version %s failed", version.pk)
        return None


def version_warnings(version: DatasetVersion) -> list[str]:
    """Return the leakage sentences of a version: from its stored check, else computed now from the hashes."""
    stored = latest(version.dataset, version=version, finished=True)
    counts = stored.counts if stored is not None else duplicates.version_report(version).counts()
    return duplicates.warnings(counts or {})
