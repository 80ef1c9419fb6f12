"""Image and report rows written a batch at a time: ids, values and the one-live-copy rule hold."""

import pytest
from django.db import IntegrityError, transaction

from tests.webapp.datasets.conftest import jpeg
from webapp.datasets.models import Image, ImportItem
from webapp.datasets.services.ingest import add_image
from webapp.datasets.services.rows import insert_images, insert_items
from webapp.datasets.services.store import FileOutcome

pytestmark = pytest.mark.django_db


def new_image(dataset, i: int, label=None) -> Image:
    return Image(dataset=dataset, sha256=f"{i:064x}", width=10 + i, height=20, format="JPEG", size_bytes=100 + i,
                 label=label, split="train", original_name=f"cat {i}.jpg", file=f"datasets/x/{i}.jpg",
                 thumbnail=f"datasets/x/{i}.jpg")


def test_a_batch_larger_than_one_statement_gets_every_id_and_value(dataset, cats):
    # 300 rows of 14 values: more than SQLite's 999 parameters in one statement.
    images = [new_image(dataset, i, label=cats if i % 2 else None) for i in range(300)]
    insert_images(images)
    stored = {im.pk: im for im in Image.objects.filter(dataset=dataset)}
    assert sorted(stored) == sorted(im.pk for im in images)
    for im in images:
        row = stored[im.pk]
        assert (row.sha256, row.width, row.size_bytes, row.label_id, row.split, row.original_name, row.file.name) == \
            (im.sha256, im.width, im.size_bytes, im.label_id, "train", im.original_name, im.file.name)
        assert row.created_at == im.created_at and row.deleted_at is None
    assert not images[0]._state.adding


def test_the_same_bytes_twice_in_a_dataset_are_refused_by_the_database(dataset):
    insert_images([new_image(dataset, 1)])
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_images([new_image(dataset, 2), new_image(dataset, 1)])
    assert Image.objects.filter(dataset=dataset).count() == 1


def test_report_rows_keep_their_order_and_point_at_their_images(dataset, media):
    from webapp.datasets.models import Import

    job = Import.objects.create(dataset=dataset)
    kept = add_image(dataset, jpeg(1), name="a.jpg", label=None)
    outcomes = [kept, FileOutcome("b.txt", "rejected", "not_image", "not an image: looks like text"),
                FileOutcome("c.jpg", "duplicate", "duplicate", "duplicate of a.jpg", existing=kept.image),
                FileOutcome("n" * 600, "skipped", "nested", "m" * 600)]
    insert_items(job, outcomes)
    rows = list(ImportItem.objects.filter(source_import=job).order_by("id"))
    assert [(r.name[:5], r.outcome, r.image_id) for r in rows] == [
        ("a.jpg", "accepted", kept.image.pk), ("b.txt", "rejected", None), ("c.jpg", "duplicate", kept.image.pk),
        ("nnnnn", "skipped", None)]
    assert len(rows[3].name) == 500 and len(rows[3].message) == 500
