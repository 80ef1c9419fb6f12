"""The health numbers come from a tally the database keeps: right after every kind of change, from any writer."""

import threading
from collections import Counter

import pytest
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from tests.webapp.datasets.page_helpers import add_images, make_dataset, png
from webapp.datasets.models import Dataset, Image, ImageTally
from webapp.datasets.services import bulk, classes
from webapp.datasets.services.health import dataset_health
from webapp.datasets.services.store import add_image
from webapp.datasets.services.tally import FOLD_RATIO, FOLD_SLACK, read_tally

pytestmark = pytest.mark.usefixtures("media")


def counted(dataset) -> tuple[dict, dict, dict, int]:
    """Count the dataset's live images the slow way, one index entry each, as the tally must agree."""
    live = Image.objects.filter(dataset_id=dataset.pk, deleted_at__isnull=True).order_by()
    per = {(label, split): n for label, split, n in live.values_list("label_id", "split").annotate(n=Count("*"))}
    widths = dict(live.values_list("width").annotate(n=Count("*")))
    heights = dict(live.values_list("height").annotate(n=Count("*")))
    return per, widths, heights, live.filter(phash__isnull=False).count()


def agrees(dataset) -> bool:
    tally = read_tally(dataset.pk)
    expected = counted(dataset)
    assert tuple(tally)[:4] == expected
    return True


@pytest.mark.smoke
@pytest.mark.django_db
def test_the_tally_follows_uploads_relabels_splits_deletes_class_changes_and_raw_updates(owner):
    dataset = make_dataset(owner, "Tallied", classes=("a", "b", "c"))
    a, b, c = dataset.classes.all()
    small = add_images(dataset, 6, label=a, split="train", size=8)
    large = add_images(dataset, 4, label=b, split="val", start=100, size=24)
    add_images(dataset, 3, start=200, size=16)  # unlabelled, unassigned
    assert agrees(dataset)
    assert dataset_health(dataset)["per_split"] == {"train": 6, "val": 4, "test": 0, "unassigned": 3}

    bulk.relabel(dataset, [small[0].pk, small[1].pk], b)
    bulk.move_to_split(dataset, [large[0].pk], "test")
    assert agrees(dataset)
    bulk.delete_images(dataset, [small[2].pk, large[1].pk])  # soft or hard: either way not live any more
    assert agrees(dataset)
    classes.merge_classes(b, c)
    assert agrees(dataset)
    classes.delete_class(c, delete_images=False)  # its images become unlabelled (the key's SET NULL)
    assert agrees(dataset)

    # Writers that are not Lux's services count too: a queryset update, a model save, an undelete.
    Image.objects.filter(pk=small[3].pk).update(split="val", width=99)
    one = Image.objects.get(pk=small[4].pk)
    one.height, one.label = 77, None
    one.save()
    Image.objects.filter(pk=small[5].pk).update(deleted_at=timezone.now())
    assert agrees(dataset)
    Image.objects.filter(pk=small[5].pk).update(deleted_at=None)
    before = list(ImageTally.objects.filter(dataset_pk=dataset.pk).values_list("kind", "key", "split", "n"))
    Image.objects.filter(dataset=dataset).update(original_name="renamed.png")  # counts nothing new
    assert agrees(dataset)
    if connection.vendor == "postgresql":  # an update that changes no counted column writes no delta row
        after = list(ImageTally.objects.filter(dataset_pk=dataset.pk).values_list("kind", "key", "split", "n"))
        assert sorted(after) == sorted(before)
    # The generation moves only when an image joins the live, hashed set a leakage report compares.
    live = Image.objects.filter(dataset=dataset, deleted_at__isnull=True)
    generation = read_tally(dataset.pk).generation
    Image.objects.filter(dataset=dataset).update(split="train", label=None)
    assert agrees(dataset) and read_tally(dataset.pk).generation == generation
    Image.objects.filter(pk__in=[small[3].pk, large[2].pk]).update(phash=None)  # two images lose their hash
    bulk.delete_images(dataset, [large[3].pk])
    assert agrees(dataset) and read_tally(dataset.pk).hashed == live.count() - 2
    assert read_tally(dataset.pk).generation == generation  # images left: the pairs of the rest still hold
    Image.objects.filter(pk=small[3].pk).update(phash=5)  # it joins again: it must be compared
    add_images(dataset, 1, start=300, size=8)
    assert agrees(dataset) and read_tally(dataset.pk).generation == generation + 2
    health = dataset_health(dataset)
    assert health["total"] == Image.objects.filter(dataset=dataset, deleted_at__isnull=True).count()
    assert Dataset.objects.get(pk=dataset.pk).image_count == health["total"]


@pytest.mark.smoke
@pytest.mark.django_db
def test_a_deleted_dataset_leaves_no_tally_and_a_new_one_starts_from_none(owner):
    gone = make_dataset(owner, "Gone", classes=("a",))
    add_images(gone, 5, label=gone.classes.get(), size=8)
    kept = make_dataset(owner, "Kept")
    add_images(kept, 2, start=50, size=8)
    gone_pk = gone.pk
    gone.delete()
    assert not ImageTally.objects.filter(dataset_pk=gone_pk).exists()
    assert agrees(kept) and sum(read_tally(kept.pk).widths.values()) == 2
    # Rows left under an id (as a test database's flush can leave them) never count for a dataset made later.
    ImageTally.objects.create(dataset_pk=gone_pk + 1000, kind="c", key=0, split="train", n=-3)
    later = Dataset.objects.create(owner=owner, name="Later", pk=gone_pk + 1000)
    assert read_tally(later.pk) == ({}, {}, {}, 0, 0)


@pytest.mark.django_db
def test_many_small_changes_are_folded_into_one_row_per_key_without_changing_a_number(owner):
    dataset = make_dataset(owner, "Folded", classes=("a", "b"))
    a, b = dataset.classes.all()
    images = add_images(dataset, 8, label=a, split="train", size=8)
    for i in range(200):  # sizes that come and go, and relabels back and forth, one statement each
        Image.objects.filter(pk=images[i % 8].pk).update(width=1000 + i, label=b if i % 2 else a)
    keys = sum(len(part) for part in counted(dataset)[:3]) + 2  # and one "p" and one "g" row
    # Deltas (PostgreSQL) or sizes counted down to zero (SQLite): far more rows than keys with images.
    assert ImageTally.objects.filter(dataset_pk=dataset.pk).count() > FOLD_RATIO * keys + FOLD_SLACK
    assert agrees(dataset)  # this read folds
    assert ImageTally.objects.filter(dataset_pk=dataset.pk).count() == keys
    assert agrees(dataset)


@pytest.mark.django_db(transaction=True)
def test_two_imports_into_one_dataset_at_once_neither_wait_on_nor_deadlock_over_the_counts(owner):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has one writer at a time: two writers cannot overlap there")
    dataset = make_dataset(owner, "Busy", classes=("a", "b"))
    a, b = dataset.classes.all()
    both_wrote_once = threading.Barrier(2, timeout=20)
    errors: list[BaseException] = []

    def importer(first, second, start):
        # Each holds its transaction open across the barrier: with one updated row per count, the second
        # class's row would be locked by the other importer, each waiting on the other (a deadlock).
        try:
            with transaction.atomic():
                for i in range(3):
                    add_image(dataset, png(start + i, 8), name=f"{start + i}.png", label=first, split="train",
                              touch=False)
                both_wrote_once.wait()
                for i in range(3):
                    add_image(dataset, png(start + 10 + i, 8), name=f"{start + 10 + i}.png", label=second,
                              split="train", touch=False)
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=importer, args=(a, b, 0)),
               threading.Thread(target=importer, args=(b, a, 100))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    assert agrees(dataset)
    assert Counter({k: n for (k, _), n in read_tally(dataset.pk).per_class_split.items()}) == {a.pk: 6, b.pk: 6}
