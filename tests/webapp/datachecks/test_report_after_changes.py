"""After a change, the leakage report is right, and a relabel or split move re-reads only the paired images."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.webapp.datachecks.conftest import add, copy_of
from webapp.datachecks.models import DataCheck
from webapp.datachecks.services.duplicates import _latest_results, dataset_report, dataset_rows, report_from_rows
from webapp.datasets.models import Dataset
from webapp.datasets.services import bulk

pytestmark = pytest.mark.django_db


def fresh(dataset) -> Dataset:
    return Dataset.objects.get(pk=dataset.pk)  # as each page view loads it: the revision a change moved


def read_in_full(dataset):
    """Return the report as reading every live image gives it."""
    stored = _latest_results(DataCheck.objects.filter(dataset=dataset, version__isnull=True))
    return report_from_rows(dataset_rows(dataset), 10, stored)


def assert_same(report, expected):
    assert report.counts() == expected.counts()
    assert report.groups == expected.groups and sorted(report.leaks) == sorted(expected.leaks)


def image_reads(queries) -> list[str]:
    return [q["sql"] for q in queries if 'FROM "datasets_image"' in q["sql"]]


def test_a_split_move_or_relabel_rereads_only_the_paired_images(leaky):
    first = dataset_report(fresh(leaky))
    assert first.counts()["leaks"]["test_in_train"] == 1 and first.counts()["images"] == 7
    bulk.move_to_split(leaky, [leaky.pics["a_copy"].pk], "train")
    bulk.relabel(leaky, [leaky.pics["p3"].pk], None)
    with CaptureQueriesContext(connection) as queries:
        moved = dataset_report(fresh(leaky))
    assert moved.counts()["leaks"]["test_in_train"] == 0  # the copy now sits with its original
    assert_same(moved, read_in_full(leaky))
    # One read of the four paired images by id, not one of every image.
    (read,) = image_reads(queries)
    assert " IN (" in read
    bulk.move_to_split(leaky, [leaky.pics["b_copy"].pk], "val")
    assert dataset_report(fresh(leaky)).counts()["leaks"]["val_in_train"] == 1


def test_a_deleted_image_takes_its_pairs_along_and_an_added_one_is_searched(leaky):
    dataset_report(fresh(leaky))
    bulk.delete_images(leaky, [leaky.pics["a"].pk])  # the leak's original goes
    with CaptureQueriesContext(connection) as queries:
        gone = dataset_report(fresh(leaky))
    assert gone.counts()["leaks"]["test_in_train"] == 0 and gone.counts()["images"] == 6
    assert_same(gone, read_in_full(leaky))
    (read,) = image_reads(queries)  # the pair left (b and its copy), by id
    assert " IN (" in read
    add(leaky, copy_of(3), name="p3-copy.jpg", split="test")  # a new copy of a train photo
    with CaptureQueriesContext(connection) as queries:
        added = dataset_report(fresh(leaky))
    assert any(" IN (" not in read for read in image_reads(queries))  # every hash, to compare the new one with
    assert added.counts()["leaks"]["test_in_train"] == 1 and added.counts()["images"] == 7
    assert_same(added, read_in_full(leaky))


def test_a_page_never_searches_more_than_it_may_and_says_what_it_left_to_a_check(owner_client, leaky, owner,
                                                                                 sent_checks, monkeypatch):
    from django.urls import reverse

    from webapp.datachecks.services import checks, duplicates
    from webapp.datachecks.worker import run_check

    monkeypatch.setattr(duplicates, "PAGE_SEARCH_LIMIT", 7 * 7 - 1)  # the 7 images against each other: one over
    searched = []
    monkeypatch.setattr(duplicates, "search", lambda *a, **k: searched.append(a) or {})
    card = owner_client.get(reverse("dataset_detail", args=[leaky.pk])).content.decode()
    assert "7 images are not compared yet: too many to search while this page loads." in card
    assert "near-copy in train" not in card and "No near-copies across splits" not in card
    page = owner_client.get(reverse("datachecks_page", args=[leaky.pk])).content.decode()
    assert 'id="stat-uncompared">7<' in page and "No near-copy sits in two splits" not in page
    assert owner_client.get(f"/api/data-checks/duplicates/?dataset={leaky.pk}").json()["counts"]["uncompared"] == 7
    assert not searched  # nothing compared while a page loaded
    monkeypatch.undo()
    check = checks.start_check(leaky, owner, threshold=10)  # the job compares them all, however many
    assert run_check(check.pk, worker="test", token=check.task_id) == "succeeded"
    monkeypatch.setattr(duplicates, "PAGE_SEARCH_LIMIT", 7 * 7 - 1)
    card = owner_client.get(reverse("dataset_detail", args=[leaky.pk])).content.decode()
    assert "1 test image has a near-copy in train" in card and "not compared yet" not in card
