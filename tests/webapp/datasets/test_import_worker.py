"""ZIP imports through a real Celery worker: queued by the request, run on the default queue, reported."""

import time

import pytest
from django.core.files.base import ContentFile

from tests import hostile_files as h
from tests.webapp.datasets.conftest import upload
from webapp.datasets.models import Dataset, Import
from webapp.datasets.services.datasets import delete_dataset
from webapp.datasets.services.ingest import start_archive_import

pytestmark = [pytest.mark.slow, pytest.mark.smoke]


def wait_for(job: Import, timeout: float = 120) -> Import:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.status in ("succeeded", "failed"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"import still {job.status} ({job.done}/{job.total}) after {timeout}s")


@pytest.fixture
def worker_dataset(worker, owner):
    """A dataset whose files are removed from the session's media folder afterwards."""
    dataset = Dataset.objects.create(owner=owner, name="Worker pets")
    yield dataset
    delete_dataset(dataset)


def test_a_mixed_zip_imports_through_the_worker_with_every_file_reported(worker_dataset, owner, worker):
    job = wait_for(start_archive_import(worker_dataset, upload("mixed.zip", h.mixed_zip()), user=owner))
    assert job.status == "succeeded", job.error + worker.log()[-3000:]
    assert (job.total, job.done, job.accepted, job.rejected) == (7, 7, 3, 4)
    assert job.items.filter(outcome="rejected").count() == 4
    assert sorted(worker_dataset.images.values_list("original_name", flat=True)) == [
        "good1.jpg", "good2.png", "good3.gif"]
    assert job.archive.name == ""


@pytest.mark.parametrize("archive, expected", [
    (h.traversal_zip, {"cats/ok.png": "accepted", "../evil.png": "skipped", "cats/../../x.png": "skipped"}),
    (h.zip_bomb, {"cats/bomb.bmp": "rejected"}),
    (h.macos_junk_zip, {"cats/a.png": "accepted"}),
    (h.nested_zip, {"cats/a.png": "accepted", "more.zip": "skipped", "dogs/old.7z": "skipped"}),
    (h.csv_layout_zip, {"a.png": "accepted", "d.png": "accepted"}),
])
def test_the_worker_reports_each_hostile_archive_entry(worker_dataset, owner, worker, archive, expected):
    job = wait_for(start_archive_import(worker_dataset, upload("x.zip", archive()), user=owner))
    assert job.status == "succeeded", job.error
    outcomes = dict(job.items.values_list("name", "outcome"))
    assert {name: outcomes.get(name) for name in expected} == expected
    if archive is h.macos_junk_zip:
        assert outcomes == expected  # junk is skipped silently: not even reported
    if archive is h.zip_bomb:  # stopped once past the ratio, not after inflating 1 GiB
        assert "looks like a zip bomb" in job.items.get().message
    if archive is h.csv_layout_zip:
        assert dict(worker_dataset.images.values_list("original_name", "label__name")) == {
            "a.png": "cats", "b.png": "dogs", "c.png": "cats", "d.png": None}


def test_the_worker_takes_splits_from_folders(worker_dataset, owner, worker):
    job = wait_for(start_archive_import(worker_dataset, upload("split.zip", h.split_layout_zip()), user=owner))
    assert job.status == "succeeded", job.error
    assert dict(worker_dataset.images.values_list("original_name", "split")) == {
        "a.png": "train", "b.png": "train", "c.png": "val", "d.png": "test"}


def test_a_broken_archive_fails_the_import_with_one_clear_message(worker_dataset, owner, worker):
    # Stored as if it had passed the upload check (e.g. damaged on the shared volume afterwards).
    job = Import(dataset=worker_dataset, created_by=owner, total=4)
    job.archive.save("archive", ContentFile(h.broken_zip()), save=True)
    from webapp.celery import DEFAULT_QUEUE, app

    app.send_task("datasets.import_archive", args=[job.pk], queue=DEFAULT_QUEUE)
    job = wait_for(job)
    assert job.status == "failed"
    assert job.error == "The ZIP archive is damaged: its end is missing (was the upload cut short?)."


def test_a_20000_entry_zip_imports_with_correct_counts(worker_dataset, owner, worker):
    # Tiny text files named .png (each one rejected), with five real images among them.
    real = {f"c{i}/real{i}.png": h.good_png(8, 8, seed=i) for i in range(5)}
    junk = ((f"c{i % 10}/{i}.png", b"x") for i in range(20_000 - len(real)))
    data = h.zip_of([*real.items(), *junk], stored=True)
    job = wait_for(start_archive_import(worker_dataset, upload("many.zip", data), user=owner), timeout=300)
    assert job.status == "succeeded", job.error
    assert (job.total, job.done, job.accepted, job.rejected) == (20_000, 20_000, 5, 19_995)
    assert job.items.count() == 20_000
    assert job.items.filter(reason="not_an_image").count() == 19_995
    assert worker_dataset.images.count() == 5
