"""Send a batch classification job's images into a dataset as unlabelled images, with the job's predictions as
suggestions: the way new data comes back into the labelling loop.

The images go through the datasets app's ingest (stage_image/save_staged: the same checks, hashes, thumbnails
and dedup as an upload or a ZIP import) as one Import, and the suggestions hang on a finished PrelabelJob that
names the batch job (`from_job`), so the labelling queue orders by them like by a pre-label job's. The files are
checked and written first, outside any transaction (the slow part: SQLite would hold its one write lock all
along); the rows then go in one short transaction. A send is bounded (LUX_TO_DATASET_MAX_IMAGES) and any error
leaves nothing behind, files included.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from webapp.classify.models import ClassificationJob, JobSource, JobStatus, Prediction
from webapp.core.errors import FieldError
from webapp.datachecks.services.checks import compare_added_on_commit
from webapp.datasets.archive import ArchiveEntry, BadArchive, SkippedEntry, iter_archive
from webapp.datasets.models import Dataset, Import, ImportKind, ImportStatus
from webapp.datasets.services.access import live_images
from webapp.datasets.services.archive_import import archive_limits
from webapp.datasets.services.ingest import FileOutcome, count_outcomes, insert_items
from webapp.datasets.services.store import remove_files, save_staged, stage_image
from webapp.datasets.validation import RejectedFile
from webapp.env import env_int
from webapp.labelling.models import PrelabelJob, PrelabelStatus, Suggestion

ALL, LOW = "all", "low"
# In the request, at about 70-100 ms an image on a busy 2-core machine (512x384 to 2000x1500 JPEGs): a thousand
# stays well inside the web server's 300 s timeout.
DEFAULT_MAX = 1000


class SendError(FieldError):
    """The images cannot be sent as asked; `field` names the input at fault, `status` the HTTP status."""


def max_images() -> int:
    """Return how many images one send may copy (LUX_TO_DATASET_MAX_IMAGES, default 1000)."""
    value = getattr(settings, "LUX_TO_DATASET_MAX_IMAGES", None)
    return max(1, int(value)) if value is not None else env_int("LUX_TO_DATASET_MAX_IMAGES", DEFAULT_MAX, minimum=1)


@dataclass
class Sent:
    """What a send did: the Import (per-file report), the pre-label job holding the suggestions, and counts."""

    dataset: Dataset
    selected: int = 0
    added: int = 0
    duplicates: int = 0
    rejected: int = 0
    missing: int = 0
    suggested: int = 0
    unmatched: int = 0  # images whose top-1 class the dataset lacks: no suggestion
    unmatched_classes: list[str] = field(default_factory=list)
    batch: Import | None = None
    prelabel: PrelabelJob | None = None

    @property
    def message(self) -> str:
        """Return the result in words, each count that is not zero."""
        parts = [f"{self.added} of {self.selected} image{'s' * (self.selected != 1)} added to {self.dataset.name} "
                 "as unlabelled"]
        if self.duplicates:
            parts.append(f"{self.duplicates} already in the dataset (not added twice)")
        if self.rejected:
            parts.append(f"{self.rejected} refused by the image checks (see the import report)")
        if self.missing:
            parts.append(f"{self.missing} missing from storage (deleted or expired), skipped")
        text = "; ".join(parts) + f". {self.suggested} suggestion{'s' * (self.suggested != 1)} made"
        if self.unmatched:
            text += (f"; none for {self.unmatched} image{'s' * (self.unmatched != 1)} whose predicted class the "
                     f"dataset lacks ({', '.join(self.unmatched_classes[:6])}"
                     f"{' and more' if len(self.unmatched_classes) > 6 else ''})")
        return text + "."

    def as_dict(self) -> dict:
        return {"dataset": self.dataset.pk, "selected": self.selected, "added": self.added,
                "duplicates": self.duplicates, "rejected": self.rejected, "missing": self.missing,
                "suggested": self.suggested, "unmatched": self.unmatched, "unmatched_classes": self.unmatched_classes,
                "import": self.batch.pk if self.batch else None,
                "prelabel_job": self.prelabel.pk if self.prelabel else None, "message": self.message}


def is_finished(job: ClassificationJob) -> bool:
    """Return whether the job has ended with results to send (succeeded, or cancelled keeping what it did)."""
    return job.status in (JobStatus.SUCCEEDED, JobStatus.CANCELLED)


def selection(job: ClassificationJob, images: str, below: float | None):
    """Return the job's answered predictions to send: all, or those with confidence below `below` (0..1)."""
    rows = job.predictions.filter(predicted_index__isnull=False, confidence__isnull=False)
    if images == LOW:
        rows = rows.filter(confidence__lt=job.low_confidence if below is None else below)
    return rows.select_related("image").order_by("position")


def send_to_dataset(job: ClassificationJob, dataset: Dataset, user, *, images: str = LOW,
                    below: float | None = None) -> Sent:
    """Copy the chosen images of a finished job into `dataset`, unlabelled, each with the job's suggestion.

    `below` (0..1, default the job's low-confidence threshold) applies to images="low". All or nothing.
    """
    if not is_finished(job):
        raise SendError("This job has not finished: send its images once it has.", status=409)
    if images not in (ALL, LOW):
        raise SendError("Choose “low” (low-confidence images only) or “all”.", "images")
    if below is not None and not 0 < below <= 1:
        raise SendError("The threshold must be a percentage above 0 and at most 100.", "below")
    rows = selection(job, images, below)
    count = rows.count()
    if count == 0:
        raise SendError("No image of this job matches: nothing to send." if images == ALL else
                        "No image of this job is below that confidence: nothing to send.", status=409)
    if count > max_images():
        hint = "Choose a lower threshold." if images == LOW else "Send the low-confidence images only."
        raise SendError(f"That is {count} images; one send copies at most {max_images()}. {hint}",
                        "below" if images == LOW else "images")
    sent, outcomes = Sent(dataset=dataset, selected=count), []
    try:
        targets = _stage(job, dataset, list(rows), outcomes, sent)
        with transaction.atomic():
            _save(job, dataset, user, outcomes, targets, sent)
    except BaseException:
        for outcome in outcomes:  # nothing was saved: the files written for it go too
            if outcome.accepted:
                remove_files(outcome.image)
        raise
    return sent


def _stage(job, dataset, predictions: list[Prediction], outcomes: list, sent: Sent) -> list:
    """Check and store each image's files like an upload (the slow part, outside any transaction); return
    (prediction, outcome) pairs of the images that may get a suggestion."""
    known = set(live_images(dataset).values_list("sha256", flat=True))
    first, targets = {}, []
    for prediction, data in _contents(job, predictions):
        if data is None:
            sent.missing += 1
            outcomes.append(FileOutcome(prediction.name, "skipped", "missing",
                                        "missing from storage: the batch job's file was deleted or expired"))
            continue
        if isinstance(data, RejectedFile):  # a ZIP entry the archive reader refused (too large, ...)
            outcomes.append(FileOutcome(prediction.name, "rejected", data.reason, data.message))
            continue
        outcome = _stage_one(dataset, data, prediction.name, known)
        if outcome.accepted and outcome.image.sha256 in first:  # the job held the same file twice
            remove_files(outcome.image)
            earlier = first[outcome.image.sha256]
            outcome = FileOutcome(prediction.name, "duplicate", "duplicate",
                                  f"duplicate: the same file as '{earlier.name}', sent just before")
        elif outcome.accepted:
            first[outcome.image.sha256] = outcome
            targets.append((prediction, outcome))
        elif outcome.existing is not None:
            targets.append((prediction, outcome))
        outcomes.append(outcome)
    return targets


def _stage_one(dataset: Dataset, data, name: str, known: set) -> FileOutcome:
    try:
        return stage_image(dataset, data, name=name, label=None, might_exist=known.__contains__)
    finally:
        if hasattr(data, "close"):
            data.close()


def _save(job, dataset, user, outcomes: list[FileOutcome], targets: list, sent: Sent) -> None:
    """Insert the import with its report, the new image rows and the suggestions: one short transaction."""
    now = timezone.now()
    batch = Import.objects.create(dataset=dataset, created_by=user, kind=ImportKind.UPLOAD,
                                  status=ImportStatus.SUCCEEDED, total=len(outcomes), done=len(outcomes),
                                  started_at=now, finished_at=now,
                                  original_name=f"{len(outcomes)} image{'s' * (len(outcomes) != 1)} "
                                                f"from batch job {job.pk}"[:500])
    for outcome in outcomes:
        if outcome.accepted:
            outcome.image.source_import = batch
    save_staged(outcomes)  # one stored meanwhile by someone else becomes a duplicate here
    insert_items(batch, outcomes)
    counted = count_outcomes(outcomes)
    Import.objects.filter(pk=batch.pk).update(**counted)
    for name, value in counted.items():
        setattr(batch, name, value)
    sent.added, sent.duplicates, sent.rejected = counted["accepted"], counted["duplicates"], counted["rejected"]
    sent.batch = batch
    images = []
    for prediction, outcome in targets:
        image = outcome.image if outcome.accepted else outcome.existing
        if image is not None and image.pk is not None and image.label_id is None:
            images.append((prediction, image))  # new, or already here unlabelled: it gets the suggestion
    _suggest(job, dataset, user, images, dict(dataset.classes.values_list("name", "pk")), sent)
    if sent.added:
        dataset.touch()
        compare_added_on_commit(dataset)


def _contents(job: ClassificationJob, predictions: list[Prediction]) -> Iterator[tuple[Prediction, object]]:
    """Yield each prediction with its original image (an open file or bytes), a RejectedFile, or None: gone."""
    if job.source == JobSource.ARCHIVE:
        yield from _archive_contents(job, predictions)
        return
    for prediction in predictions:
        name = prediction.source or (prediction.image.file.name if prediction.image is not None else "")
        try:
            yield prediction, default_storage.open(name, "rb") if name else None
        except (FileNotFoundError, OSError):
            yield prediction, None


def _archive_contents(job: ClassificationJob, predictions: list[Prediction]):
    """Read the wanted entries of the job's ZIP in one pass, numbering entries as the job's worker did."""
    wanted = {p.position: p for p in predictions}
    found = {}
    try:
        with default_storage.open(job.archive.name, "rb") as handle:
            position = 0
            for entry in iter_archive(handle, limits=archive_limits()):
                if isinstance(entry, SkippedEntry) and entry.silent:
                    continue  # not numbered by the worker either (inputs.Inputs._archive)
                if position in wanted and isinstance(entry, ArchiveEntry):
                    try:
                        found[position] = entry.read()
                    except RejectedFile as refused:
                        found[position] = refused
                    yield wanted[position], found[position]
                position += 1
    except (FileNotFoundError, OSError, BadArchive, ValueError):
        pass  # the archive is gone (or no longer readable): what was not read is missing
    for position, prediction in wanted.items():
        if position not in found:
            yield prediction, None


def _suggest(job, dataset, user, targets, classes: dict[str, int], sent: Sent) -> None:
    """Record the job's prediction for each image as a suggestion, on a finished pre-label job naming the job."""
    names = list(job.class_names or [])
    rows, seen, unmatched = [], set(), {}
    for prediction, image in targets:
        if image.pk in seen:
            continue  # the job held the same file twice
        seen.add(image.pk)
        top = [[names[i], round(float(p), 6)] for i, p in prediction.topk if 0 <= i < len(names)]
        if not top:
            continue
        if top[0][0] not in classes:
            unmatched[top[0][0]] = unmatched.get(top[0][0], 0) + 1
            continue
        confidence, margin, entropy = summary([p for _, p in top], len(names))
        rows.append(Suggestion(dataset=dataset, image=image, model_ref=job.model_ref, label_name=top[0][0],
                               label_id=classes[top[0][0]], topk=top, confidence=confidence, margin=margin,
                               entropy=entropy))
    sent.unmatched = sum(unmatched.values())
    sent.unmatched_classes = sorted(unmatched, key=lambda n: -unmatched[n])
    if not rows:
        return  # no job: an empty one would become the queue's newest and hide older suggestions
    now = timezone.now()
    prelabel = PrelabelJob.objects.create(
        dataset=dataset, created_by=user, model_ref=job.model_ref, model_label=job.model_label[:300],
        class_names=names, top_k=job.top_k, status=PrelabelStatus.SUCCEEDED, total=len(seen), done=len(seen),
        errors=len(seen) - len(rows), queued_at=now, started_at=now, finished_at=now, from_job=job)
    for row in rows:
        row.job = prelabel
    Suggestion.objects.bulk_create(rows)
    sent.prelabel, sent.suggested = prelabel, len(rows)


def summary(top: list[float], classes: int) -> tuple[float, float, float]:
    """Return (confidence, margin, entropy) from the top-k probabilities the job kept, best first.

    The rest of the probability mass is taken as spread evenly over the other classes: exact when the job kept
    every class, else the largest entropy (and, for top-1 only, the smallest margin) the stored values allow.
    """
    first = top[0]
    rest = max(0.0, 1.0 - sum(top))
    others = max(0, classes - len(top))
    second = top[1] if len(top) > 1 else (min(first, rest) if others else 0.0)
    entropy = -sum(p * math.log(p) for p in top if p > 0)
    if rest > 0 and others:
        entropy += rest * math.log(others / rest)
    return float(first), float(first - second), max(0.0, float(entropy))
