"""Importing a ZIP (the task body, in this process): what each layout gives, and the per-file report."""

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile

from tests import hostile_files as h
from tests.webapp.datasets.conftest import files_under, upload
from webapp.datasets.models import Image, Import, ImportItem
from webapp.datasets.services.ingest import start_archive_import
from webapp.datasets.worker import import_archive

pytestmark = pytest.mark.django_db


def run_import(dataset, owner, data: bytes, name: str = "pets.zip") -> Import:
    job = start_archive_import(dataset, upload(name, data), user=owner)
    import_archive(job.pk)
    return Import.objects.get(pk=job.pk)


def report(job) -> dict[str, tuple[str, str]]:
    return {i.name: (i.outcome, i.reason) for i in job.items.all()}


def labels(dataset) -> dict[str, tuple[str | None, str]]:
    return {img.original_name: (img.label.name if img.label else None, img.split) for img in dataset.images.all()}


def test_an_imagefolder_zip_creates_classes_from_folders(dataset, owner, media):
    job = run_import(dataset, owner, h.imagefolder_zip())
    assert (job.status, job.layout, job.total, job.done, job.accepted) == ("succeeded", "imagefolder", 4, 4, 4)
    assert labels(dataset) == {"a.jpg": ("cats", "unassigned"), "b.png": ("cats", "unassigned"),
                               "c.jpg": ("dogs", "unassigned"), "d.webp": ("dogs", "unassigned")}
    assert list(dataset.classes.values_list("name", "position")) == [("cats", 0), ("dogs", 1)]


def test_one_bad_file_never_fails_the_import_and_each_rejection_is_reported(dataset, owner, media):
    job = run_import(dataset, owner, h.mixed_zip())
    assert job.status == "succeeded"
    assert (job.accepted, job.rejected) == (3, 4)
    assert report(job) == {
        "cats/good1.jpg": ("accepted", ""), "cats/truncated.jpg": ("rejected", "truncated"),
        "cats/notes.jpg": ("rejected", "not_an_image"), "dogs/login.png": ("rejected", "not_an_image"),
        "dogs/good2.png": ("accepted", ""), "dogs/bomb.png": ("rejected", "too_many_pixels"),
        "dogs/good3.gif": ("accepted", ""),
    }
    assert job.items.get(name="cats/truncated.jpg").message == "file is truncated: the image data ends early"


def test_entries_that_climb_out_of_their_folder_are_reported_not_relabelled(dataset, owner, media):
    job = run_import(dataset, owner, h.traversal_zip())
    outcomes = report(job)
    assert outcomes.pop("cats/ok.png") == ("accepted", "")
    assert set(outcomes.values()) == {("skipped", "unsafe_path")}
    assert len(outcomes) == 6 and job.skipped == 6
    assert job.items.get(name="cats/../../x.png").message == "the path climbs out of its folder (..)"
    assert labels(dataset) == {"ok.png": ("cats", "unassigned")}


def test_a_zip_bomb_is_stopped_early_and_the_rest_imports(dataset, owner, media):
    import zipfile
    import zlib

    payload, crc = h._zeros_deflate(h.GiB)  # 1 GiB of zeros in about 1 MB
    png = h.good_png(seed=3)
    bomb = h.raw_zip([h.RawEntry("cats/bomb.bmp", payload, crc, h.GiB),
                      h.RawEntry("cats/ok.png", png, zlib.crc32(png), len(png), method=zipfile.ZIP_STORED)])
    job = run_import(dataset, owner, bomb)
    assert (job.status, job.rejected, job.accepted) == ("succeeded", 1, 1)
    item = job.items.get(name="cats/bomb.bmp")
    assert item.reason == "zip_bomb"
    assert "looks like a zip bomb" in item.message


def test_macos_and_windows_junk_is_skipped_silently(dataset, owner, media):
    job = run_import(dataset, owner, h.macos_junk_zip())
    assert report(job) == {"cats/a.png": ("accepted", "")}
    assert (job.total, job.skipped) == (1, 0)


def test_archives_inside_the_archive_are_reported_as_skipped(dataset, owner, media):
    job = run_import(dataset, owner, h.nested_zip())
    assert report(job) == {"cats/a.png": ("accepted", ""), "more.zip": ("skipped", "nested_archive"),
                           "cats/backup.tar.gz": ("skipped", "nested_archive"),
                           "dogs/old.7z": ("skipped", "nested_archive")}


def test_train_val_test_folders_set_the_split(dataset, owner, media):
    job = run_import(dataset, owner, h.split_layout_zip())
    assert job.layout == "split_imagefolder"
    assert labels(dataset) == {"a.png": ("cats", "train"), "b.png": ("dogs", "train"), "c.png": ("cats", "val"),
                               "d.png": ("dogs", "test")}


def test_a_labels_csv_gives_labels_and_splits_and_unlisted_files_come_in_unlabelled(dataset, owner, media):
    job = run_import(dataset, owner, h.csv_layout_zip())
    assert job.layout == "csv"
    assert labels(dataset) == {"a.png": ("cats", "train"), "b.png": ("dogs", "val"), "c.png": ("cats", "unassigned"),
                               "d.png": (None, "unassigned")}
    assert job.items.get(name="d.png").message == "not listed in labels.csv: imported without a label"


def test_a_bad_labels_csv_is_refused_before_anything_is_stored(dataset, owner, media):
    with pytest.raises(ValidationError) as caught:
        start_archive_import(dataset, upload("pets.zip", h.csv_layout_zip("filename,label\na.png,\n")), user=owner)
    assert caught.value.messages == ["Labels.csv: line 2: the label for 'a.png' is empty."]
    assert Import.objects.count() == 0 and files_under(media) == []


def test_decomposed_unicode_folder_names_become_one_nfc_class(dataset, owner, media):
    run_import(dataset, owner, h.unicode_zip())
    assert list(dataset.classes.values_list("name", flat=True)) == [h.UNICODE_CLASS_NFC]
    assert dataset.images.count() == 2


@pytest.mark.parametrize("data, message", [
    (h.broken_zip(), "The ZIP archive is damaged: its end is missing (was the upload cut short?)."),
    (h.not_a_zip(), "This file is not a ZIP archive."),
    (b"", "This file is not a ZIP archive: it is empty."),
])
def test_a_broken_or_non_zip_upload_is_refused_before_anything_is_created(data, message, dataset, owner, media):
    with pytest.raises(ValidationError) as caught:
        start_archive_import(dataset, upload("pets.zip", data), user=owner)
    assert caught.value.messages == [message]
    assert Import.objects.count() == 0 and files_under(media) == []


def test_an_archive_over_the_size_limit_is_refused(dataset, owner, media, settings):
    settings.LUX_MAX_ARCHIVE_BYTES = 1024
    with pytest.raises(ValidationError, match="the limit is 1 KB"):
        start_archive_import(dataset, upload("pets.zip", h.imagefolder_zip()), user=owner)
    assert Import.objects.count() == 0


def test_a_stored_archive_that_turns_out_broken_fails_the_import_with_the_message(dataset, owner, media):
    job = Import(dataset=dataset, created_by=owner, total=4)
    job.archive.save("archive", ContentFile(h.broken_zip()), save=True)
    import_archive(job.pk)
    job.refresh_from_db()
    assert job.status == "failed"
    assert job.error == "The ZIP archive is damaged: its end is missing (was the upload cut short?)."
    assert files_under(media) == []  # the archive is deleted at the end, whatever happened


def test_the_archive_is_deleted_from_storage_when_the_import_ends(dataset, owner, media):
    job = start_archive_import(dataset, upload("pets.zip", h.imagefolder_zip()), user=owner)
    assert job.status == "queued" and job.total == 4 and (media / job.archive.name).is_file()
    import_archive(job.pk)
    job.refresh_from_db()
    assert job.archive.name == ""
    assert not any(name.startswith("imports/") for name in files_under(media))


def test_duplicates_and_conflicts_in_an_archive_are_reported(dataset, owner, media):
    same = h.good_png(seed=9)
    job = run_import(dataset, owner, h.zip_of({"cats/a.png": same, "cats/again.png": same, "dogs/a.png": same}))
    assert (job.accepted, job.duplicates, job.conflicts) == (1, 1, 1)
    assert report(job)["dogs/a.png"] == ("conflict", "label_conflict")
    first = dataset.images.get()
    assert job.items.get(name="cats/again.png").image == first


def test_progress_is_committed_in_batches_while_it_runs(dataset, owner, media, monkeypatch):
    from webapp.datasets import worker

    seen = []
    original = worker._Run._commit

    def spy(self, pending):
        original(self, pending)
        seen.append(self.batch_files)

    monkeypatch.setattr(worker._Run, "_commit", spy)
    data = h.zip_of({f"c/{i}.png": h.good_png(8, 8, seed=i) for i in range(12)})
    job = start_archive_import(dataset, upload("pets.zip", data), user=owner)
    import_archive(job.pk, progress_every=0)  # a batch after every file
    assert sum(seen) == 12 and len(seen) >= 12


def test_a_redelivered_import_resumes_after_the_batches_already_committed(dataset, owner, media):
    data = h.zip_of({f"c/{i}.png": h.good_png(8, 8, seed=i) for i in range(6)} | {"x.zip": b"PK"})
    job = start_archive_import(dataset, upload("pets.zip", data), user=owner)
    # As if a worker had committed the first batch (3 files) and then been killed.
    from webapp.datasets.services.ingest import add_image, insert_items

    for i in range(3):
        outcome = add_image(dataset, h.good_png(8, 8, seed=i), name=f"c/{i}.png", label=None, source_import=job)
        insert_items(job, [outcome])
    Import.objects.filter(pk=job.pk).update(status="running", done=3, accepted=3)
    import_archive(job.pk)
    job.refresh_from_db()
    assert (job.status, job.done, job.accepted, job.duplicates, job.skipped) == ("succeeded", 6, 6, 0, 1)
    assert job.items.count() == 7
    assert Image.objects.count() == 6


def test_a_finished_import_is_not_run_twice(dataset, owner, media):
    job = run_import(dataset, owner, h.imagefolder_zip())
    import_archive(job.pk)
    assert ImportItem.objects.count() == 4


def test_big_images_in_an_archive_get_a_small_webp_thumbnail(dataset, owner, media):
    from PIL import Image as Pil

    run_import(dataset, owner, h.zip_of({"cats/big.png": h.good_png(400, 300), "cats/small.jpg": h.good_jpeg()}))
    big, small = dataset.images.get(original_name="big.png"), dataset.images.get(original_name="small.jpg")
    with Pil.open(media / big.thumbnail.name) as thumb:
        assert (thumb.format, thumb.size) == ("WEBP", (256, 192))
    assert small.thumbnail.name == small.file.name


def test_a_redelivered_finished_import_only_cleans_up_its_archive(dataset, owner, media):
    job = start_archive_import(dataset, upload("pets.zip", h.imagefolder_zip()), user=owner)
    Import.objects.filter(pk=job.pk).update(status="succeeded")  # as if the worker died before deleting it
    import_archive(job.pk)
    job.refresh_from_db()
    assert job.archive.name == "" and files_under(media) == []
    assert Image.objects.count() == 0
