"""Uploads waiting in jobs not yet started: a quota per user, expiry when abandoned, and sizes checked first."""

from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile, TemporaryUploadedFile
from django.utils import timezone

from webapp.classify.models import ClassificationJob, Explanation, JobInput, JobStatus
from webapp.core.reaping import reap_all

pytestmark = pytest.mark.django_db
KB = 1024


def blobs(n, size=KB, start=0):
    """Return `n` uploads of `size` bytes each (their content is never decoded before the job runs)."""
    return [SimpleUploadedFile(f"img-{i}.png", bytes([i % 251]) * size) for i in range(start, start + n)]


@pytest.fixture
def quota(settings):
    settings.LUX_PENDING_UPLOAD_QUOTA_BYTES = 5 * KB
    return settings.LUX_PENDING_UPLOAD_QUOTA_BYTES


def pending_job(client, run) -> dict:
    response = client.post("/api/classify/jobs/", {"model": f"run:{run.pk}", "source": "upload", "start": "false",
                                                   "files": blobs(1)})
    assert response.status_code == 201, response.content
    return response.json()


def stored_inputs() -> list[str]:
    """Return the names of every job input file on disk."""
    root = "classify/jobs"
    jobs = default_storage.listdir(root)[0] if default_storage.exists(root) else []
    return [name for job in jobs for name in default_storage.listdir(f"{root}/{job}/inputs")[1]]


def test_uploads_beyond_the_pending_quota_are_refused_whole(owner_client, run, quota):
    job = pending_job(owner_client, run)
    url = f"/api/classify/jobs/{job['id']}/files/"
    assert owner_client.post(url, {"files": blobs(3, start=1)}).status_code == 200  # 4 KB of 5 held
    response = owner_client.post(url, {"files": blobs(2, start=4)})
    assert response.status_code == 413
    message = response.json()["files"][0]
    assert "6 KB" in message and "the limit is 5 KB" in message and "Start a pending job" in message
    assert ClassificationJob.objects.get(pk=job["id"]).total == 4  # nothing of the refused request was kept
    assert len(stored_inputs()) == 4
    assert owner_client.post(url, {"files": blobs(1, start=9)}).status_code == 200  # what still fits goes in


def test_the_quota_counts_all_of_a_users_pending_jobs_and_no_one_elses(owner_client, run, quota, outsider):
    theirs = ClassificationJob.objects.create(owner=outsider, model_ref="imagenet:resnet18", source="upload")
    JobInput.objects.create(job=theirs, position=0, name="big.png", file="elsewhere.img", size_bytes=100 * KB)
    first = pending_job(owner_client, run)
    owner_client.post(f"/api/classify/jobs/{first['id']}/files/", {"files": blobs(4, start=1)})
    response = owner_client.post("/api/classify/jobs/", {"model": f"run:{run.pk}", "source": "upload",
                                                         "start": "false", "files": blobs(1, start=5)})
    assert response.status_code == 413 and "files" in response.json()
    assert ClassificationJob.objects.filter(owner=run.owner).count() == 1  # no empty job left behind
    page = owner_client.post("/classify/jobs/new/", {"model": f"run:{run.pk}", "source": "upload", "top_k": 3,
                                                     "low_confidence": 50, "files": blobs(1, start=6)})
    assert page.status_code == 400 and "the limit is 5 KB" in page.content.decode()
    assert ClassificationJob.objects.filter(owner=run.owner).count() == 1


def test_starting_a_job_frees_its_room(owner_client, run, quota):
    job = pending_job(owner_client, run)
    owner_client.post(f"/api/classify/jobs/{job['id']}/files/", {"files": blobs(4, start=1)})
    assert owner_client.post(f"/api/classify/jobs/{job['id']}/start/").status_code == 200
    assert pending_job(owner_client, run)["total"] == 1


def test_a_pending_job_nobody_uploads_to_expires_with_its_files(owner_client, run, settings,
                                                                django_capture_on_commit_callbacks):
    settings.LUX_PENDING_UPLOAD_EXPIRY_HOURS = 24
    abandoned, busy, started = (pending_job(owner_client, run) for _ in range(3))
    long_ago = timezone.now() - timedelta(hours=25)
    ClassificationJob.objects.filter(pk__in=[abandoned["id"], busy["id"], started["id"]]).update(created_at=long_ago)
    JobInput.objects.filter(job_id__in=[abandoned["id"], started["id"]]).update(added_at=long_ago)
    ClassificationJob.objects.filter(pk=started["id"]).update(status=JobStatus.SUCCEEDED)
    files = JobInput.objects.get(job_id=abandoned["id"]).file
    assert default_storage.exists(files)

    with django_capture_on_commit_callbacks(execute=True):
        found = reap_all()

    assert found["classify.jobs"]["expired"] == [abandoned["id"]]
    assert not ClassificationJob.objects.filter(pk=abandoned["id"]).exists()
    assert not default_storage.exists(files)
    assert set(ClassificationJob.objects.values_list("pk", flat=True)) == {busy["id"], started["id"]}
    page = owner_client.get(f"/classify/jobs/{abandoned['id']}/")
    assert page.status_code == 404


def test_an_explanation_upload_over_the_limit_is_refused_before_it_is_read(owner_client, run, settings, monkeypatch):
    settings.LUX_MAX_UPLOAD_BYTES = 2 * KB
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 0  # every upload is spooled to a temporary file, as large ones are

    def whole_read(self):
        raise AssertionError("the upload was read before its size was checked")
    monkeypatch.setattr(TemporaryUploadedFile, "read", property(whole_read))
    for url in ("/api/classify/explanations/", "/classify/explain/"):
        response = owner_client.post(url, {"model": f"run:{run.pk}",
                                           "image": SimpleUploadedFile("big.png", b"x" * (3 * KB))})
        assert response.status_code == 400, (url, response.status_code)
        text = response.content.decode()
        assert "3 KB" in text and "the limit is 2 KB" in text, text[:500]
    assert not Explanation.objects.exists()
