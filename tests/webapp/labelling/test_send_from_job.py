"""A batch classification job sends its images into a dataset, unlabelled, with its predictions as suggestions."""

import math

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from tests.factories import COLOURS, noisy_square, png

pytestmark = pytest.mark.django_db

MODEL_CLASSES = ["red", "green", "blue", "purple"]  # the dataset (pets) has no purple


def _image(colour, seed):
    return png(noisy_square(COLOURS[colour] if colour in COLOURS else (128, 0, 128), size=16,
                            rng=np.random.default_rng(seed)))


@pytest.fixture
def batch_job(owner, pets):
    """Return a succeeded upload job of 8 images: new ones, a purple one, a missing file, a file pets holds,
    a file that is no image, and one the model could not read."""
    from webapp.classify.models import ClassificationJob, JobInput, Prediction

    job = ClassificationJob.objects.create(owner=owner, model_ref="imported:7", model_label="Squares model",
                                           source="upload", status="succeeded", total=8, done=8,
                                           class_names=MODEL_CLASSES, top_k=3, low_confidence=0.5)
    already = pets.images.filter(label__isnull=True).order_by("pk").first()
    with already.file.open("rb") as handle:
        known = handle.read()
    rows = [  # (name, bytes, top-k) best first; None bytes: the stored file has gone
        ("sure-red.png", _image("red", 100), [[0, 0.95], [1, 0.03], [2, 0.02]]),
        ("green.png", _image("green", 101), [[1, 0.55], [0, 0.30], [2, 0.10]]),
        ("blue.png", _image("blue", 102), [[2, 0.40], [1, 0.35], [0, 0.20]]),
        ("purple.png", _image("purple", 103), [[3, 0.45], [0, 0.30], [1, 0.20]]),
        ("gone.png", None, [[0, 0.30], [1, 0.30], [2, 0.20]]),
        ("known.png", known, [[2, 0.20], [0, 0.19], [1, 0.18]]),
        ("hostile.png", b"<?php echo 'not an image'; ?>", [[1, 0.10], [0, 0.09], [2, 0.08]]),
        ("unreadable.png", b"x", None),
    ]
    for position, (name, data, top) in enumerate(rows):
        source = default_storage.save(f"classify/jobs/{job.pk}/inputs/{position}.img", ContentFile(data or b"x"))
        if data is None:
            default_storage.delete(source)
        JobInput.objects.create(job=job, position=position, name=name, file=source)
        Prediction.objects.create(job=job, position=position, name=name, source=source,
                                  predicted_index=top[0][0] if top else None, confidence=top[0][1] if top else None,
                                  topk=top or [], error="" if top else "cannot identify image file")
    job.already = already
    return job


def send(job, dataset, user, **options):
    from webapp.labelling.services.from_job import send_to_dataset

    return send_to_dataset(job, dataset, user, **options)


def test_low_confidence_images_become_unlabelled_images_with_the_jobs_suggestions(owner, pets, batch_job):
    from webapp.datasets.models import Image
    from webapp.labelling.models import PrelabelJob, Suggestion
    from webapp.labelling.services import prelabel, queue

    before = set(pets.images.values_list("pk", flat=True))
    sent = send(batch_job, pets, owner, images="low")  # below the job's own 50%
    # blue, purple, gone, known and hostile are below 50%; the unreadable one has no prediction to send.
    assert (sent.selected, sent.added, sent.duplicates, sent.rejected, sent.missing) == (5, 2, 1, 1, 1)
    new = Image.objects.filter(dataset=pets).exclude(pk__in=before).order_by("pk")
    assert [i.original_name for i in new] == ["blue.png", "purple.png"]
    for image in new:  # stored like an upload: checked, hashed, thumbnailed, in an import with its report
        assert image.label_id is None and image.phash and image.thumbnail.name and len(image.sha256) == 64
        assert image.source_import_id == sent.batch.pk and default_storage.exists(image.file.name)
    assert sent.batch.kind == "upload" and "batch job" in sent.batch.original_name
    assert (sent.batch.accepted, sent.batch.duplicates, sent.batch.rejected, sent.batch.skipped) == (2, 1, 1, 1)
    reasons = dict(sent.batch.items.values_list("name", "reason"))
    assert reasons["gone.png"] == "missing" and reasons["known.png"] == "duplicate"
    pets.refresh_from_db()
    assert pets.image_count == len(before) + 2

    job = PrelabelJob.objects.get(from_job=batch_job)
    assert (job.status, job.dataset_id, job.model_ref, job.model_label) == ("succeeded", pets.pk, "imported:7",
                                                                            "Squares model")
    rows = {s.image_id: s for s in Suggestion.objects.filter(job=job)}
    blue = new[0]
    # The purple image gets no suggestion (the dataset has no such class); the file already in pets,
    # unlabelled there, gets the job's suggestion.
    assert set(rows) == {blue.pk, batch_job.already.pk}
    s = rows[blue.pk]
    assert (s.label_name, s.label.name, s.topk) == ("blue", "blue", [["blue", 0.4], ["green", 0.35], ["red", 0.2]])
    assert s.confidence == pytest.approx(0.40) and s.margin == pytest.approx(0.05)
    # The 5% the job did not keep is taken as the fourth class's.
    assert s.entropy == pytest.approx(-sum(p * math.log(p) for p in (0.4, 0.35, 0.2, 0.05)))
    assert (sent.suggested, sent.unmatched, sent.unmatched_classes) == (2, 1, ["purple"])
    assert "1 missing from storage" in sent.message and "purple" in sent.message
    assert "1 already in the dataset" in sent.message and "2 of 5 images added" in sent.message

    # The labelling queue now reads these suggestions, by this model, the most uncertain first.
    assert prelabel.suggesting_job(pets, None) == job
    first = queue.next_images(pets, queue.Scope(), order="margin", job=job)
    assert [e["id"] for e in first[:2]] == [batch_job.already.pk, blue.pk]  # margins 0.01, 0.05
    assert first[0]["suggestion"]["model"] == "imported:7" and first[0]["suggestion"]["label_name"] == "blue"


def test_all_sends_every_answered_image_and_a_threshold_is_kept(owner, pets, batch_job):
    sent = send(batch_job, pets, owner, images="all")
    assert (sent.selected, sent.added, sent.duplicates, sent.rejected, sent.missing) == (7, 4, 1, 1, 1)
    assert send(batch_job, pets, owner, images="low", below=0.6).selected == 6  # now duplicates
    assert send(batch_job, pets, owner, images="low", below=0.42).selected == 4


def test_a_failure_leaves_nothing_behind(owner, pets, batch_job, monkeypatch):
    from webapp.datasets.models import Image, Import
    from webapp.labelling.models import PrelabelJob, Suggestion

    images, imports = Image.objects.count(), Import.objects.count()
    files = {f for f in _stored(default_storage, "datasets")}

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(Suggestion.objects, "bulk_create", broken)
    with pytest.raises(RuntimeError):
        send(batch_job, pets, owner, images="all")
    assert (Image.objects.count(), Import.objects.count(), PrelabelJob.objects.count()) == (images, imports, 0)
    assert set(_stored(default_storage, "datasets")) == files  # the new images' files were removed too


def _stored(storage, top):
    folders, files = storage.listdir(top) if storage.exists(top) else ([], [])
    for name in files:
        yield f"{top}/{name}"
    for folder in folders:
        yield from _stored(storage, f"{top}/{folder}")


def test_a_send_is_bounded_and_refuses_what_cannot_be_sent(owner, pets, batch_job, settings):
    from webapp.datasets.models import Import
    from webapp.labelling.services.from_job import SendError

    settings.LUX_TO_DATASET_MAX_IMAGES = 4
    with pytest.raises(SendError) as refused:
        send(batch_job, pets, owner, images="all")
    assert (refused.value.field, refused.value.status) == ("images", 400) and "at most 4" in refused.value.message
    with pytest.raises(SendError) as nothing:
        send(batch_job, pets, owner, images="low", below=0.05)
    assert nothing.value.status == 409 and "nothing to send" in nothing.value.message
    batch_job.status = "running"
    with pytest.raises(SendError) as running:
        send(batch_job, pets, owner)
    assert running.value.status == 409
    assert not Import.objects.filter(original_name__contains="batch job").exists()


def test_a_zip_jobs_images_are_read_from_its_archive(owner, pets):
    import io
    import zipfile

    from webapp.classify.models import ClassificationJob, Prediction

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("__MACOSX/._a.png", b"junk")  # not numbered, as the worker did not number it
        archive.writestr("a.png", _image("red", 200))
        archive.writestr("b.png", _image("green", 201))
    job = ClassificationJob(owner=owner, model_ref="imported:7", model_label="m", source="archive",
                            status="succeeded", class_names=MODEL_CLASSES)
    job.archive.save("archive.zip", ContentFile(buffer.getvalue()), save=True)
    for position, name in enumerate(["a.png", "b.png"]):
        Prediction.objects.create(job=job, position=position, name=name, predicted_index=position,
                                  confidence=0.3, topk=[[position, 0.3], [2, 0.3], [3, 0.2]])
    sent = send(job, pets, owner, images="all")
    assert (sent.added, sent.suggested) == (2, 2)
    names = dict(pets.images.filter(source_import=sent.batch).values_list("original_name", "suggestions__label_name"))
    assert names == {"a.png": "red", "b.png": "green"}


def test_summary_is_exact_when_the_job_kept_every_class():
    from webapp.labelling.services.from_job import summary

    assert summary([0.7, 0.2, 0.1], 3) == pytest.approx((0.7, 0.5, -sum(p * math.log(p) for p in (0.7, 0.2, 0.1))))
    confidence, margin, _ = summary([0.8], 5)  # top-1 only: the second could hold all that is left
    assert (confidence, margin) == pytest.approx((0.8, 0.6))


def page(job):
    return f"/classify/jobs/{job.pk}/to-dataset/"


def test_the_owner_sends_from_the_jobs_page_and_lands_on_the_labelling_queue(owner_client, pets, batch_job):
    from webapp.labelling.models import PrelabelJob

    job_page = owner_client.get(f"/classify/jobs/{batch_job.pk}/").content.decode()
    assert page(batch_job) in job_page  # the finished job's page offers it
    form = owner_client.get(page(batch_job))
    assert form.status_code == 200 and pets.name in form.content.decode() and 'value="50"' in form.content.decode()
    answer = owner_client.post(page(batch_job), {"dataset": pets.pk, "images": "low", "below": "50"}, follow=True)
    assert answer.redirect_chain[-1][0] == f"/datasets/{pets.pk}/label/"
    text = answer.content.decode()
    assert "2 of 5 images added" in text and "1 missing from storage" in text and "purple" in text
    made = PrelabelJob.objects.get(from_job=batch_job)
    assert f"batch job {batch_job.pk}" in text and "Squares model" in text  # the suggestions shown are the job's
    queue = owner_client.get(f"/datasets/{pets.pk}/label/queue/").json()
    assert (queue["job"], queue["model"], queue["order"]) == (made.pk, "imported:7", "margin")
    assert queue["images"][0]["suggestion"]["label_name"] == "blue"


def test_outsiders_get_404_and_bad_input_a_clear_4xx(client, owner_client, outsider, pets, batch_job):
    from tests.conftest import signed_in
    from tests.factories import make_dataset
    from webapp.datasets.models import Import

    theirs = make_dataset(outsider, name="Theirs")
    outsider_client = signed_in(client.__class__(), outsider)
    assert outsider_client.get(page(batch_job)).status_code == 404
    assert outsider_client.post(page(batch_job), {"dataset": theirs.pk, "images": "all"}).status_code == 404
    for body, words in [({}, "This field is required"),
                        ({"dataset": 10**9, "images": "all"}, "does not exist or is not shared"),
                        ({"dataset": theirs.pk, "images": "all"}, "does not exist or is not shared"),
                        ({"dataset": pets.pk, "images": "low", "below": "lots"}, "Enter a number"),
                        ({"dataset": pets.pk, "images": "low", "below": "-5"}, "greater than or equal to 0"),
                        ({"dataset": pets.pk, "images": "low", "below": "0"}, "above 0%"),
                        ({"dataset": pets.pk, "images": "some"}, "Select a valid choice")]:
        answer = owner_client.post(page(batch_job), body)
        assert answer.status_code == 400 and words in answer.content.decode(), body
    batch_job.status = "running"
    batch_job.save()
    answer = owner_client.post(page(batch_job), {"dataset": pets.pk, "images": "all"})
    assert answer.status_code == 409 and "has not finished" in answer.content.decode()
    assert not Import.objects.filter(original_name__contains="batch job").exists()


def test_the_api_sends_and_refuses_like_the_page(api_client, owner, outsider, pets, batch_job):
    from tests.factories import make_dataset

    url = f"/api/classify/jobs/{batch_job.pk}/to-dataset/"
    theirs = make_dataset(outsider, name="Theirs")
    api_client.force_login(outsider)
    assert api_client.post(url, {"dataset": theirs.pk}, format="json").status_code == 404
    api_client.force_login(owner)
    for body, field in [({}, "dataset"), ({"dataset": theirs.pk}, "dataset"), ({"dataset": 10**9}, "dataset"),
                        ({"dataset": pets.pk, "below": "lots"}, "below"), ({"dataset": pets.pk, "below": 0}, "below"),
                        ({"dataset": pets.pk, "below": 101}, "below"), ({"dataset": pets.pk, "images": 1}, "images")]:
        answer = api_client.post(url, body, format="json")
        assert answer.status_code == 400 and field in answer.json(), (body, answer.json())
    answer = api_client.post(url, {"dataset": pets.pk, "images": "low", "below": 42}, format="json")
    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert (body["selected"], body["added"], body["missing"], body["suggested"]) == (4, 1, 1, 2)
    assert body["import"] and body["prelabel_job"] and "1 missing" in body["message"]
    assert api_client.get(f"/api/labelling/queue/?dataset={pets.pk}").json()["job"] == body["prelabel_job"]
    batch_job.status = "queued"
    batch_job.save()
    refused = api_client.post(url, {"dataset": pets.pk}, format="json")
    assert refused.status_code == 409 and "has not finished" in refused.json()["detail"]
