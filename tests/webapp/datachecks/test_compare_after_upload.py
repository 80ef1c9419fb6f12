"""In a large dataset, images added after a check are compared by a check Lux starts, not while a page loads."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.webapp.datachecks.conftest import add, copy_of, encoded, photo
from tests.webapp.datachecks.test_report_after_changes import assert_same, fresh, image_reads, read_in_full
from webapp.datachecks.models import CheckStatus, DataCheck
from webapp.datachecks.services import checks, duplicates
from webapp.datachecks.worker import run_check
from webapp.datasets.models import Image
from webapp.datasets.services import ingest
from webapp.datasets.services.tally import read_tally

pytestmark = pytest.mark.django_db


@pytest.fixture
def large(monkeypatch):
    """Make the leaky dataset's 7 hashed images count as more than a page compares after an upload."""
    monkeypatch.setattr(duplicates, "INLINE_COMPARE_LIMIT", 3)


@pytest.fixture
def searches(monkeypatch):
    """Record which images each hash search compared with the others (None: all against all)."""
    seen, real = [], duplicates.search
    monkeypatch.setattr(duplicates, "search", lambda rows, threshold, among=None: seen.append(among) or
                        real(rows, threshold, among))
    return seen


def checked(dataset, owner):
    check = checks.start_check(dataset, owner, threshold=10)
    assert run_check(check.pk, worker="test", token=check.task_id) == CheckStatus.SUCCEEDED
    return DataCheck.objects.get(pk=check.pk)


def upload(dataset, owner, data: bytes, name: str, split: str, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        batch = ingest.upload_files(dataset, [SimpleUploadedFile(name, data)], label=None, split=split, user=owner)
    assert batch.accepted == 1
    return batch.outcomes[0].image


def test_an_upload_is_compared_by_an_automatic_check_and_pages_wait_for_it(
        large, leaky, owner, owner_client, sent_checks, searches, django_capture_on_commit_callbacks):
    first = checked(leaky, owner)
    assert first.results["generation"] == read_tally(leaky.pk).generation and not first.automatic
    new = upload(leaky, owner, copy_of(3), "p3-copy.jpg", "test", django_capture_on_commit_callbacks)
    (auto,) = DataCheck.objects.filter(automatic=True)
    assert auto.status == CheckStatus.QUEUED and auto.created_by is None and len(sent_checks) == 1
    searches.clear()
    with CaptureQueriesContext(connection) as queries:
        waiting = duplicates.dataset_report(fresh(leaky))
    # The known pairs and a count of the new image: no read of every image's hashes, no search.
    assert all(" IN (" in sql or "COUNT(" in sql for sql in image_reads(queries))
    assert not searches
    counts = waiting.counts()
    assert (counts["images"], counts["hashed"], counts["uncompared"], counts["comparing"]) == (8, 8, 1, True)
    assert counts["leaks"]["test_in_train"] == 1  # the pairs the first check found; the new copy's is to come
    card = owner_client.get(reverse("dataset_detail", args=[leaky.pk])).content.decode()
    assert "1 new image is being compared with the others now" in card
    page = owner_client.get(reverse("datachecks_page", args=[leaky.pk])).content.decode()
    assert "started by Lux to compare images just added" in page and 'id="stat-uncompared">1<' in page
    api = owner_client.get(f"/api/data-checks/duplicates/?dataset={leaky.pk}").json()["counts"]
    assert api["uncompared"] == 1 and api["comparing"] is True

    assert run_check(auto.pk, worker="test", token=auto.task_id) == CheckStatus.SUCCEEDED
    assert searches == [{new.pk}]  # only the new image, against all
    auto.refresh_from_db()
    assert auto.counts["leaks"]["test_in_train"] == 2
    searches.clear()
    done = duplicates.dataset_report(fresh(leaky))
    assert not searches and done.counts()["uncompared"] == 0
    assert done.counts()["leaks"]["test_in_train"] == 2  # the new copy of a train photo, now found
    assert_same(done, read_in_full(leaky))
    # What the automatic check kept is what a check of everything finds.
    full = duplicates.check_fields(duplicates.dataset_rows(leaky), 10)
    assert auto.results["pairs"] == full["results"]["pairs"] and auto.counts == full["counts"]


def test_a_small_dataset_compares_an_upload_while_the_page_loads(
        leaky, owner, sent_checks, searches, django_capture_on_commit_callbacks):
    checked(leaky, owner)
    new = upload(leaky, owner, copy_of(3), "p3-copy.jpg", "test", django_capture_on_commit_callbacks)
    assert not DataCheck.objects.filter(automatic=True).exists() and not sent_checks
    searches.clear()
    report = duplicates.dataset_report(fresh(leaky))
    assert searches == [{new.pk}] and report.counts()["uncompared"] == 0
    assert report.counts()["leaks"]["test_in_train"] == 2


def test_a_hash_filled_in_after_a_check_makes_pages_and_checks_compare_everything(
        large, leaky, owner, sent_checks, searches, django_capture_on_commit_callbacks):
    checked(leaky, owner)
    old = leaky.pics["p3"]
    Image.objects.filter(pk=old.pk).update(phash=None)  # leaves the hashed set: the generation stays
    assert duplicates.added_since(leaky.pk, duplicates._latest_results(DataCheck.objects.all()),
                                  read_tally(leaky.pk)) == 0
    Image.objects.filter(pk=old.pk).update(phash=old.phash)  # joins again, with an id the check had
    stored = duplicates._latest_results(DataCheck.objects.all())
    assert duplicates.added_since(leaky.pk, stored, read_tally(leaky.pk)) is None  # not only new images joined
    add(leaky, encoded(photo(9)), name="p9.png", split="val")
    with CaptureQueriesContext(connection) as queries:
        report = duplicates.dataset_report(fresh(leaky))
    assert any(" IN (" not in sql and "COUNT(" not in sql for sql in image_reads(queries))  # every image, read
    assert report.counts()["uncompared"] == 0 and report.counts()["images"] == 8
    assert_same(report, read_in_full(leaky))
    with django_capture_on_commit_callbacks(execute=True):
        auto = checks.compare_added(leaky)
    assert auto is not None and auto.automatic
    searches.clear()
    assert run_check(auto.pk, worker="test", token=auto.task_id) == CheckStatus.SUCCEEDED
    assert searches == [None]  # the earlier pairs could not be trusted: all against all
    assert checks.compare_added(leaky) is None  # nothing joined since


def test_no_automatic_check_before_a_first_check_or_while_nothing_new(large, leaky, owner, sent_checks,
                                                                      django_capture_on_commit_callbacks):
    assert checks.compare_added(leaky) is None  # never checked: the first check compares everything
    checked(leaky, owner)
    assert checks.compare_added(leaky) is None  # nothing joined since
    upload(leaky, owner, encoded(photo(8)), "p8.png", "train", django_capture_on_commit_callbacks)
    (auto,) = DataCheck.objects.filter(automatic=True, status=CheckStatus.QUEUED)
    upload(leaky, owner, encoded(photo(9)), "p9.png", "train", django_capture_on_commit_callbacks)
    assert DataCheck.objects.filter(automatic=True).count() == 1  # the queued one compares both
    assert run_check(auto.pk, worker="test", token=auto.task_id) == CheckStatus.SUCCEEDED
    assert DataCheck.objects.filter(automatic=True).count() == 1 and checks.compare_added(leaky) is None


def test_images_added_while_a_check_runs_get_the_next_check(large, leaky, owner, sent_checks, monkeypatch,
                                                             django_capture_on_commit_callbacks):
    from webapp.datachecks.services import tiny

    checked(leaky, owner)
    first = upload(leaky, owner, encoded(photo(8)), "p8.png", "train", django_capture_on_commit_callbacks)
    (auto,) = DataCheck.objects.filter(automatic=True)
    real, late = tiny.tiny_pairs, []

    def upload_meanwhile(*args, **kwargs):  # after the check read its rows: an upload finds it running
        if not late:
            with django_capture_on_commit_callbacks(execute=True) as ran:
                ingest.upload_files(leaky, [SimpleUploadedFile("p4-copy.jpg", copy_of(4))], label=None,
                                    split="test", user=owner)
            late.extend(ran)
            assert DataCheck.objects.filter(automatic=True).count() == 1  # the running one stands for it
        return real(*args, **kwargs)

    monkeypatch.setattr(tiny, "tiny_pairs", upload_meanwhile)
    with django_capture_on_commit_callbacks() as callbacks:
        assert run_check(auto.pk, worker="test", token=auto.task_id) == CheckStatus.SUCCEEDED
    # In a test's transaction the upload's callbacks stay listed after they ran: run only the worker's, after
    # them, as its commit would.
    assert callbacks[:len(late)] == late
    for callback in callbacks[len(late):]:
        callback()
    auto.refresh_from_db()
    assert auto.results["last_image"] == first.pk  # the late image was not in its rows
    (following,) = DataCheck.objects.filter(automatic=True, status=CheckStatus.QUEUED)
    assert duplicates.dataset_report(fresh(leaky)).counts()["uncompared"] == 1
    assert run_check(following.pk, worker="test", token=following.task_id) == CheckStatus.SUCCEEDED
    report = duplicates.dataset_report(fresh(leaky))
    assert report.counts()["uncompared"] == 0 and report.counts()["leaks"]["test_in_val"] == 1  # p4 is in val
