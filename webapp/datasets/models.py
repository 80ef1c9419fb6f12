"""Datasets of labelled images, their imports, and the frozen versions training runs point at."""

import uuid

from django.conf import settings
from django.db import models, transaction
from django.db.models import OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from webapp.core.ownership import OwnedModel


class Split(models.TextChoices):
    TRAIN = "train", "train"
    VAL = "val", "validation"
    TEST = "test", "test"
    UNASSIGNED = "unassigned", "unassigned"


def image_upload_path(instance, filename):
    """Return a generated storage name: never derived from the user's file name or path."""
    return f"datasets/{instance.dataset_id}/images/{instance.sha256[:2]}/{instance.sha256}.{instance.extension}"


def thumbnail_upload_path(instance, filename):
    return f"datasets/{instance.dataset_id}/thumbs/{instance.sha256[:2]}/{instance.sha256}.webp"


def archive_upload_path(instance, filename):
    return f"imports/{instance.dataset_id}/{uuid.uuid4().hex}.upload"


class Dataset(OwnedModel):
    """A named collection of images, each in one class (or unlabelled) and one split."""

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    # Bumped on every change to images, classes or splits; a version records the revision it froze.
    revision = models.PositiveIntegerField(default=0)
    # Live images, recounted by touch() (which every change calls), so no page counts a dataset's images.
    image_count = models.PositiveIntegerField(default=0, editable=False)
    # Asked once about the data, not per run: what training may do to these images without changing
    # what they show. Every run launched on the dataset trains with the answers (TrainConfig mirror/rotate).
    allow_mirror = models.BooleanField(
        "May these images be mirrored?", default=False,
        help_text="Yes for natural photos (animals, plants, objects, scenes): a mirrored cat is still a cat. "
                  "No for text, digits, or anything whose left and right mean different things.")
    allow_rotate = models.BooleanField(
        "May they be rotated?", default=False,
        help_text="By quarter turns. Yes for images with no up: textures, microscopy, aerial or satellite "
                  "photos. No for photos taken upright.")


    class Meta:
        ordering = ["-updated_at"]
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="dataset_name_unique_per_owner")]

    def __str__(self):
        return self.name

    def touch(self) -> None:
        """Record that the dataset changed (relabel, upload, delete, split) and recount its live images."""
        rows = Dataset.objects.filter(pk=self.pk)
        with transaction.atomic():
            # The first update takes the row's lock (held to commit), so on PostgreSQL the count, a statement
            # of its own, sees every change committed before it: the last of concurrent uploads counts all.
            rows.update(revision=models.F("revision") + 1, updated_at=timezone.now())
            # From the tally the database keeps (ImageTally): a few rows per class, not one per image.
            live = ImageTally.objects.filter(dataset_pk=OuterRef("pk"), kind=ImageTally.CLASS_SPLIT).order_by()
            rows.update(image_count=Coalesce(Subquery(live.values("dataset_pk").annotate(n=models.Sum("n"))
                                                      .values("n")), 0))


class DatasetClass(models.Model):
    """A class (label) of a dataset; `position` orders classes and becomes the class index in versions."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="classes")
    name = models.CharField(max_length=200)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]
        constraints = [models.UniqueConstraint(fields=["dataset", "name"], name="class_name_unique_per_dataset")]

    def __str__(self):
        return self.name


LIVE = models.Q(deleted_at__isnull=True)


class Image(models.Model):
    """One checked image file in a dataset."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="images")
    # Files are kept while any version references them: images are soft-deleted when versions point at them.
    file = models.FileField(upload_to=image_upload_path, max_length=300)
    thumbnail = models.FileField(upload_to=thumbnail_upload_path, max_length=300, blank=True)
    sha256 = models.CharField(max_length=64)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    format = models.CharField(max_length=10)
    size_bytes = models.PositiveBigIntegerField(default=0)
    label = models.ForeignKey(DatasetClass, null=True, blank=True, on_delete=models.SET_NULL, related_name="images")
    split = models.CharField(max_length=10, choices=Split.choices, default=Split.UNASSIGNED)
    original_name = models.CharField(max_length=500, blank=True)  # display text only, never a path
    # 64-bit DCT perceptual hash (training.datacheck.phash), stored signed to fit BIGINT; null until computed.
    phash = models.BigIntegerField(null=True, blank=True)
    # The pHashes of 9 crops of 92.5% (training.datacheck.phash.crop_hashes), 8 bytes each: slightly cropped copies
    # match one of them. Null until computed, like phash.
    phash_crops = models.BinaryField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    deleted_at = models.DateTimeField(null=True, blank=True)
    source_import = models.ForeignKey("Import", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["dataset", "label", "split"]),
            models.Index(fields=["dataset", "sha256"]),
            # Partial indexes of live images: the browse order whole, by class and by split (keyset pages read
            # only the rows they show), and the health numbers read from one index, never from the table.
            models.Index(fields=["dataset", "-created_at", "-id"], name="image_browse_order", condition=LIVE),
            models.Index(fields=["dataset", "label", "-created_at", "-id"], name="image_class_order", condition=LIVE),
            models.Index(fields=["dataset", "split", "-created_at", "-id"], name="image_split_order", condition=LIVE),
            models.Index(fields=["dataset", "label", "split", "width", "height"], name="image_health",
                         condition=LIVE),
            # A file-name search reads names from here, a fraction of the table's bytes (LIKE '%x%' cannot seek).
            models.Index(fields=["dataset", "original_name"], name="image_name", condition=LIVE),
        ]
        constraints = [
            # Exact duplicates are never stored twice in one dataset (among live images).
            models.UniqueConstraint(fields=["dataset", "sha256"], condition=models.Q(deleted_at__isnull=True),
                                    name="image_sha_unique_per_dataset"),
        ]

    def __str__(self):
        return self.original_name or self.sha256[:12]

    @property
    def extension(self) -> str:
        return {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "BMP": "bmp", "GIF": "gif", "TIFF": "tif"}.get(
            self.format, "img")


class ImageTally(models.Model):
    """How many live images a dataset has per (class, split), per width, per height, and hashed (a pHash).

    Kept by the database itself (triggers on the image table, migration 0008), so every write counts, from
    the ORM or not, and the health panel reads a few rows per class instead of one index entry per image.
    On SQLite each change adds to its row in place (one writer at a time); on PostgreSQL each statement adds
    signed delta rows (no row is ever updated, so concurrent imports never wait on or deadlock over a count),
    which services/tally.py sums and now and then folds back into one row per key.
    """

    CLASS_SPLIT, WIDTH, HEIGHT, HASHED, GENERATION = "c", "w", "h", "p", "g"

    # A plain number, not a foreign key: the triggers write these rows while Django deletes a dataset's
    # images, and a key constraint would then make the dataset's own delete fail.
    dataset_pk = models.BigIntegerField()
    # "c": key is the class id (0: unlabelled) in `split`; "w" / "h": key is a width / height; "p" (hashed
    # images): key is 1; "g": key is 0, and n grows by one whenever an image joins the hashed live set.
    kind = models.CharField(max_length=1)
    key = models.BigIntegerField()
    split = models.CharField(max_length=10, default="")
    n = models.IntegerField()

    class Meta:
        indexes = [models.Index(fields=["dataset_pk", "kind", "key", "split"], name="image_tally_key")]

    def __str__(self):
        return f"dataset {self.dataset_pk} {self.kind} {self.key} {self.split}: {self.n}"


class ImportStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class ImportKind(models.TextChoices):
    UPLOAD = "upload"  # a browser or API batch of files, checked in the request
    ARCHIVE = "archive"  # a ZIP (folders or labels.csv), checked by a worker


class Import(models.Model):
    """A ZIP or CSV import job run by a worker, or one upload batch, with counts and a per-file report."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="imports")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    archive = models.FileField(upload_to=archive_upload_path, max_length=300, blank=True)
    original_name = models.CharField(max_length=500, blank=True)
    kind = models.CharField(max_length=10, choices=ImportKind.choices, default=ImportKind.ARCHIVE)
    layout = models.CharField(max_length=20, blank=True)  # archives: imagefolder, split_imagefolder, csv, flat
    status = models.CharField(max_length=10, choices=ImportStatus.choices, default=ImportStatus.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    accepted = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    conflicts = models.PositiveIntegerField(default=0)  # same bytes as an image already in another class
    skipped = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    task_id = models.CharField(max_length=100, blank=True)  # the attempt token: its latest message's id
    queued_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)  # empty: its message never reached the broker
    worker = models.CharField(max_length=255, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)  # its worker's latest sign of life
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return self.original_name or f"import {self.pk}"


class ImportItem(models.Model):
    """What happened to one file of an upload or import: accepted, duplicate, rejected or skipped."""

    class Outcome(models.TextChoices):
        ACCEPTED = "accepted"
        DUPLICATE = "duplicate"
        CONFLICT = "conflict"  # same bytes as an image already in another class
        REJECTED = "rejected"
        SKIPPED = "skipped"

    source_import = models.ForeignKey(Import, on_delete=models.CASCADE, related_name="items")
    name = models.CharField(max_length=500)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    reason = models.CharField(max_length=40, blank=True)
    message = models.CharField(max_length=500, blank=True)
    image = models.ForeignKey(Image, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["source_import", "outcome"])]

    def __str__(self):
        return f"{self.name}: {self.outcome}"


class DatasetVersion(models.Model):
    """An immutable snapshot of (image, class, split) plus class names; every training run points at one."""

    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    revision = models.PositiveIntegerField()  # the dataset revision it froze
    class_names = models.JSONField()  # index -> name
    counts = models.JSONField()  # {"total": n, "per_split": {...}, "per_class": {name: {split: n}}}
    content_hash = models.CharField(max_length=64)
    note = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-number"]
        constraints = [models.UniqueConstraint(fields=["dataset", "number"], name="version_number_unique")]

    def __str__(self):
        return f"{self.dataset.name} v{self.number}"


class VersionEntry(models.Model):
    """One image of a frozen version, with the class index and split it had then."""

    version = models.ForeignKey(DatasetVersion, on_delete=models.CASCADE, related_name="entries")
    image = models.ForeignKey(Image, on_delete=models.PROTECT, related_name="version_entries")
    class_index = models.PositiveIntegerField()
    split = models.CharField(max_length=10, choices=Split.choices)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["version", "split"])]

    def __str__(self):
        return f"image {self.image_id} as class {self.class_index} in {self.split}"
