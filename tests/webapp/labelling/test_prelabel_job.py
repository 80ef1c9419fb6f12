"""Pre-label jobs: the model runs over the unlabelled images and leaves suggestions, never labels."""

import math

import pytest

from tests.webapp.labelling.conftest import UNLABELLED_COUNT

pytestmark = pytest.mark.django_db


def start(pets, owner, ref, **options):
    from webapp.labelling.services.prelabel import start_prelabel

    return start_prelabel(pets, owner, ref, **options)


def test_prelabel_stores_a_suggestion_per_unlabelled_image_and_labels_nothing(owner, pets, suggesting_run,
                                                                             django_capture_on_commit_callbacks):
    from webapp.datasets.models import Image
    from webapp.labelling.models import LabelEvent, Suggestion
    from webapp.labelling.worker import execute_prelabel

    with django_capture_on_commit_callbacks(execute=False):  # the worker is called directly below
        job = start(pets, owner, f"run:{suggesting_run.pk}", top_k=2)
    assert (job.status, job.total) == ("queued", UNLABELLED_COUNT)
    assert execute_prelabel(job.pk, worker="test") == "succeeded"
    job.refresh_from_db()
    assert (job.status, job.done, job.errors, job.class_names) == ("succeeded", UNLABELLED_COUNT, 0,
                                                                   ["red", "green", "blue"])
    rows = list(Suggestion.objects.filter(job=job))
    unlabelled = set(Image.objects.filter(dataset=pets, label__isnull=True).values_list("pk", flat=True))
    assert {s.image_id for s in rows} == unlabelled and len(unlabelled) == UNLABELLED_COUNT
    for s in rows:
        assert len(s.topk) == 2 and s.topk[0][0] == s.label_name and s.label.name == s.label_name
        assert s.confidence == pytest.approx(s.topk[0][1], abs=1e-5)
        assert s.margin == pytest.approx(s.topk[0][1] - s.topk[1][1], abs=1e-5)
        assert 0 <= s.entropy <= math.log(3) + 1e-6 and s.model_ref == f"run:{suggesting_run.pk}"
    assert not LabelEvent.objects.exists()  # suggestions are never labels
    # A late redelivery of the same message claims nothing.
    assert execute_prelabel(job.pk, worker="test", token=job.task_id) == "not claimed"


def test_a_second_job_replaces_the_first_jobs_suggestions(owner, pets, suggesting_run,
                                                          django_capture_on_commit_callbacks):
    from webapp.labelling.models import Suggestion
    from webapp.labelling.worker import execute_prelabel

    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=False):
            job = start(pets, owner, f"run:{suggesting_run.pk}")
        assert execute_prelabel(job.pk, worker="test") == "succeeded"
    assert set(Suggestion.objects.values_list("job_id", flat=True)) == {job.pk}


def test_a_model_whose_classes_match_none_is_refused_with_the_names(owner, pets):
    from tests.factories import make_version, saved_run
    from webapp.labelling.models import PrelabelJob
    from webapp.labelling.services.prelabel import PrelabelError

    pets_run = saved_run(owner, make_version(owner, name="Pets", classes=("cat", "dog"), per_split={"train": 1}))
    with pytest.raises(PrelabelError, match=r"classes \(cat, dog\) match none of this dataset's \(red, green, blue"):
        start(pets, owner, f"run:{pets_run.pk}")
    assert not PrelabelJob.objects.exists()


def test_classes_renamed_after_the_start_fail_the_job_with_the_reason(owner, pets, suggesting_run,
                                                                      django_capture_on_commit_callbacks):
    from webapp.labelling.models import Suggestion
    from webapp.labelling.worker import execute_prelabel

    with django_capture_on_commit_callbacks(execute=False):
        job = start(pets, owner, f"run:{suggesting_run.pk}")
    for n, c in enumerate(pets.classes.all()):
        c.name = f"renamed-{n}"
        c.save()
    assert execute_prelabel(job.pk, worker="test") == "failed"
    job.refresh_from_db()
    assert job.status == "failed" and "match none of this dataset's" in job.error
    assert not Suggestion.objects.exists()


def test_cancel_before_a_worker_takes_it_and_bad_models(owner, outsider, pets, suggesting_run,
                                                        django_capture_on_commit_callbacks):
    from webapp.classify.services.refs import UnknownModelRef
    from webapp.labelling.services.prelabel import PrelabelError, cancel_prelabel
    from webapp.labelling.worker import execute_prelabel

    with django_capture_on_commit_callbacks(execute=False):
        job = start(pets, owner, f"run:{suggesting_run.pk}")
        with pytest.raises(PrelabelError, match="already running"):
            start(pets, owner, f"run:{suggesting_run.pk}")
    assert cancel_prelabel(job).status == "cancelled"
    assert execute_prelabel(job.pk, worker="test") == "not claimed"
    with pytest.raises(PrelabelError, match="already finished"):
        cancel_prelabel(job)
    for ref in ("run:999999", "nonsense", f"run:{suggesting_run.pk}x"):
        with pytest.raises(UnknownModelRef):
            start(pets, owner, ref)
    with pytest.raises(PrelabelError, match="ImageNet"):
        start(pets, owner, "imagenet:resnet18")
    with pytest.raises(PrelabelError, match="Top-k"):
        start(pets, owner, f"run:{suggesting_run.pk}", top_k=0)


def test_the_reaper_requeues_a_job_whose_worker_died(owner, pets, suggesting_run,
                                                     django_capture_on_commit_callbacks):
    from datetime import timedelta

    from django.utils import timezone

    from webapp.labelling.models import PrelabelJob
    from webapp.labelling.services.reaper import PRELABEL

    with django_capture_on_commit_callbacks(execute=False):
        job = start(pets, owner, f"run:{suggesting_run.pk}")
    old = timezone.now() - timedelta(minutes=10)
    PrelabelJob.objects.filter(pk=job.pk).update(status="running", attempts=1, heartbeat_at=old, worker="gone")
    with django_capture_on_commit_callbacks(execute=False):
        outcome = PRELABEL.reap_stale(timezone.now())
    assert outcome["requeued"] == [job.pk]
    job.refresh_from_db()
    assert job.status == "queued" and job.worker == ""
    PrelabelJob.objects.filter(pk=job.pk).update(status="running", attempts=3, heartbeat_at=old)
    assert PRELABEL.reap_stale(timezone.now())["failed"] == [job.pk]
    job.refresh_from_db()
    assert job.status == "failed" and "Gave up after 3 attempts" in job.error


def test_the_page_starts_follows_and_cancels_a_job(owner_client, owner, pets, suggesting_run,
                                                   django_capture_on_commit_callbacks):
    from django.urls import reverse

    from webapp.labelling.models import PrelabelJob

    page = owner_client.get(reverse("label_page", args=[pets.pk])).content.decode()
    assert f'<option value="run:{suggesting_run.pk}">' in page and "Pre-label unlabelled images" in page
    with django_capture_on_commit_callbacks(execute=False):
        answer = owner_client.post(reverse("label_prelabel", args=[pets.pk]), {"model": f"run:{suggesting_run.pk}"},
                                   follow=True)
    assert f"Pre-labelling {UNLABELLED_COUNT} unlabelled images with tiny" in answer.content.decode()
    assert "Cancel pre-labelling" in answer.content.decode() and 'data-active="1"' in answer.content.decode()
    status = owner_client.get(reverse("label_prelabel_status", args=[pets.pk])).json()["job"]
    assert (status["status"], status["total"], status["done"], status["active"]) == ("queued", UNLABELLED_COUNT, 0,
                                                                                    True)
    cancelled = owner_client.post(reverse("label_prelabel_cancel", args=[pets.pk]), follow=True)
    assert "The pre-label job is cancelled" in cancelled.content.decode()
    assert PrelabelJob.objects.get().status == "cancelled"
    bad = owner_client.post(reverse("label_prelabel", args=[pets.pk]), {"model": "run:999999"}, follow=True)
    assert "not available to you" in bad.content.decode()
    empty = owner_client.post(reverse("label_prelabel", args=[pets.pk]), {}, follow=True)
    assert "Choose a model" in empty.content.decode() and PrelabelJob.objects.count() == 1


def test_failed_job_shows_its_reason_on_the_page(owner_client, owner, pets, suggesting_run):
    from django.urls import reverse

    from webapp.labelling.models import PrelabelJob

    PrelabelJob.objects.create(dataset=pets, created_by=owner, model_ref=f"run:{suggesting_run.pk}", model_label="t",
                               status="failed", error="The model's weights are missing from storage.")
    page = owner_client.get(reverse("label_page", args=[pets.pk])).content.decode()
    assert "The last pre-label job failed: The model&#x27;s weights are missing from storage." in page
