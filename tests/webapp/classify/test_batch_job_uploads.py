"""Jobs from browser uploads: made first, files sent 100 at a time, then started; cancel stops it cleanly."""

from django.core.files.uploadedfile import SimpleUploadedFile

from tests.factories import colour_image, png
from webapp.classify.worker.jobs import execute_job

JSON = {"HTTP_ACCEPT": "application/json"}


def images(n, start=0):
    return [SimpleUploadedFile(f"img-{i}.png", png(colour_image("red", seed=i))) for i in range(start, start + n)]


def new_job(client, run, **extra):
    response = client.post("/classify/jobs/new/", {"model": f"run:{run.pk}", "source": "upload",
                                                   "defer_files": "on", "top_k": 3, "low_confidence": 50, **extra},
                           **JSON)
    assert response.status_code == 201, response.content
    return response.json()


def test_files_go_up_in_batches_then_the_job_starts(owner_client, run):
    from webapp.classify.models import ClassificationJob, JobStatus

    job = new_job(owner_client, run, name="holiday")
    first = owner_client.post(job["files_url"], {"files": images(3) + [SimpleUploadedFile("empty.png", b"")]})
    second = owner_client.post(job["files_url"], {"files": images(2, start=3)})
    assert first.status_code == second.status_code == 200
    assert [f["accepted"] for f in first.json()["files"]] == [True, True, True, False]
    assert first.json()["files"][3]["error"] == "the file is empty"
    assert second.json()["total"] == 6
    started = owner_client.post(job["start_url"], **JSON)
    assert started.json()["status"] == JobStatus.QUEUED
    assert execute_job(job["id"], worker="here") == "succeeded"
    row = ClassificationJob.objects.get(pk=job["id"])
    assert (row.status, row.done, row.errors, row.total) == (JobStatus.SUCCEEDED, 6, 1, 6)
    assert [p.name for p in row.predictions.all()] == [f"img-{i}.png" for i in range(3)] + ["empty.png"] + \
        [f"img-{i}.png" for i in range(3, 5)]
    late = owner_client.post(job["files_url"], {"files": images(1)})
    assert late.status_code == 409


def test_more_than_100_files_in_one_request_are_refused(owner_client, run):
    job = new_job(owner_client, run)
    response = owner_client.post(job["files_url"], {"files": images(101)})
    assert response.status_code == 400


def test_a_job_without_images_cannot_start(owner_client, run):
    job = new_job(owner_client, run)
    response = owner_client.post(job["start_url"], **JSON)
    assert response.status_code == 400
    assert "at least one image" in response.json()["error"]


def test_a_plain_form_post_makes_and_starts_the_job(owner_client, run):
    from webapp.classify.models import ClassificationJob, JobStatus

    response = owner_client.post("/classify/jobs/new/", {"model": f"run:{run.pk}", "source": "upload",
                                                         "files": images(2), "top_k": 5, "low_confidence": 50})
    job = ClassificationJob.objects.get()
    assert response["Location"] == f"/classify/jobs/{job.pk}/"
    assert (job.status, job.total) == (JobStatus.QUEUED, 2)


def test_the_form_names_what_is_missing(owner_client, run):
    response = owner_client.post("/classify/jobs/new/", {"model": f"run:{run.pk}", "source": "archive",
                                                         "top_k": 5, "low_confidence": 50})
    assert response.status_code == 400
    assert response.context["form"].errors["archive"] == ["Choose a ZIP file."]


def test_a_bad_zip_is_refused_before_it_is_stored(owner_client, run, media):
    from tests import hostile_files as h

    response = owner_client.post("/classify/jobs/new/", {"model": f"run:{run.pk}", "source": "archive",
                                                         "archive": SimpleUploadedFile("x.zip", h.broken_zip()),
                                                         "top_k": 5, "low_confidence": 50})
    assert response.status_code == 400
    assert "damaged" in response.context["form"].errors["archive"][0]
    assert not (media / "classify" / "archives").exists() or not any((media / "classify" / "archives").iterdir())


def test_cancel_stops_a_running_job_after_its_current_batch(owner_client, run):
    from webapp.classify.models import ClassificationJob, JobStatus

    job = new_job(owner_client, run)
    for start in (0, 25):
        owner_client.post(job["files_url"], {"files": images(25, start=start)})
    owner_client.post(job["start_url"], **JSON)
    ClassificationJob.objects.filter(pk=job["id"]).update(cancel_requested=True)  # asked while it runs
    assert execute_job(job["id"], worker="here") == "cancelled"
    row = ClassificationJob.objects.get(pk=job["id"])
    assert row.status == JobStatus.CANCELLED
    assert row.done == row.predictions.count() == 32  # the first batch, kept


def test_cancel_before_it_starts_is_immediate(owner_client, run):
    from webapp.classify.models import ClassificationJob, JobStatus

    job = new_job(owner_client, run)
    owner_client.post(f"/classify/jobs/{job['id']}/cancel/")
    assert ClassificationJob.objects.get(pk=job["id"]).status == JobStatus.CANCELLED
    assert execute_job(job["id"], worker="here") == "not claimed"
