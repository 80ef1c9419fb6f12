"""Every new image gets its perceptual hash at ingest; the check job hashes older images first, then stores results."""

import pytest

from tests.webapp.datachecks.conftest import add, copy_of, encoded, photo
from training.datacheck.phash import as_unsigned, hamming
from webapp.datachecks.models import CheckStatus, DataCheck
from webapp.datachecks.services import checks
from webapp.datachecks.services.reaper import CHECKS
from webapp.datachecks.worker import run_check
from webapp.datasets.models import Dataset, Image

pytestmark = pytest.mark.django_db


def test_an_uploaded_image_and_its_resized_copy_get_close_hashes(owner, media):
    dataset = Dataset.objects.create(owner=owner, name="Ingest")
    original = add(dataset, encoded(photo(1)), name="a.png", split="train")
    copy = add(dataset, copy_of(1), name="a.jpg", split="test")
    other = add(dataset, encoded(photo(2)), name="b.png", split="train")
    original, copy, other = (Image.objects.get(pk=i.pk) for i in (original, copy, other))
    assert None not in (original.phash, copy.phash, other.phash)
    assert hamming(as_unsigned(original.phash), as_unsigned(copy.phash)) <= 4
    assert hamming(as_unsigned(original.phash), as_unsigned(other.phash)) > 12


def test_the_import_worker_stores_the_hash_too(owner, media):
    from webapp.datasets.services.rows import insert_images
    from webapp.datasets.services.store import prepare_image

    dataset = Dataset.objects.create(owner=owner, name="Batch")
    outcome = prepare_image(dataset, encoded(photo(3)), name="c.png", label=None)
    insert_images([outcome.image])  # the import worker's batch insert (plain multi-row INSERT)
    assert Image.objects.get(pk=outcome.image.pk).phash == outcome.image.phash is not None


def test_the_check_job_hashes_older_images_then_stores_groups_and_leaks(leaky, owner, sent_checks):
    Image.objects.filter(dataset=leaky).update(phash=None)  # images stored before hashing at ingest
    check = checks.start_check(leaky, owner, threshold=12)
    assert check.status == CheckStatus.QUEUED and check.threshold == 12

    assert run_check(check.pk, worker="test", token=check.task_id) == CheckStatus.SUCCEEDED
    check.refresh_from_db()
    assert not Image.objects.filter(dataset=leaky, phash__isnull=True).exists()
    assert check.counts["groups"] == 2 and check.counts["leaking_pairs"] == 1
    assert check.counts["leaks"]["test_in_train"] == 1
    pics = leaky.pics
    assert sorted(map(sorted, check.results["groups"])) == sorted([sorted([pics["a"].pk, pics["a_copy"].pk]),
                                                                    sorted([pics["b"].pk, pics["b_copy"].pk])])
    assert check.results["leaks"] == [[pics["a"].pk, pics["a_copy"].pk]]
    assert check.done == check.total == 7 and check.finished_at is not None


def test_a_late_redelivery_of_the_check_message_does_nothing(leaky, owner, sent_checks):
    check = checks.start_check(leaky, owner)
    assert run_check(check.pk, worker="test", token=check.task_id) == CheckStatus.SUCCEEDED
    assert run_check(check.pk, worker="test", token=check.task_id) == "not claimed"


def test_a_second_start_while_one_waits_returns_the_waiting_check(leaky, owner, sent_checks):
    first = checks.start_check(leaky, owner)
    assert checks.start_check(leaky, owner).pk == first.pk
    assert DataCheck.objects.filter(dataset=leaky).count() == 1


def test_the_reaper_requeues_a_check_whose_worker_died(leaky, owner, sent_checks, django_capture_on_commit_callbacks):
    from datetime import timedelta

    from django.utils import timezone

    from webapp.core import reaping

    check = checks.start_check(leaky, owner)
    assert CHECKS in reaping.kinds()
    CHECKS.claim(check.pk, token=check.task_id, worker="gone")
    DataCheck.objects.filter(pk=check.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        outcome = CHECKS.reap_stale(timezone.now())
    assert outcome["requeued"] == [check.pk]
    check.refresh_from_db()
    assert check.status == CheckStatus.QUEUED and sent_checks[-1] == ("default", check.task_id)
