"""Slightly cropped copies of a real photo are found by the crop hashes stored at ingest, confirmed on the files."""

import pytest
from django.core.cache import cache
from django.urls import reverse
from PIL import Image as PILImage
from skimage import data

from tests.webapp.datachecks.conftest import add, encoded
from training.datacheck.phash import as_unsigned, hamming
from webapp.datachecks.hashing import unpack_crops
from webapp.datachecks.models import CheckStatus
from webapp.datachecks.services import checks, duplicates
from webapp.datachecks.worker import run_check
from webapp.datasets.models import Dataset, Image

pytestmark = pytest.mark.django_db


def astronaut_face() -> PILImage.Image:
    return PILImage.fromarray(data.astronaut()).convert("RGB").crop((150, 30, 246, 126))  # 96 x 96


def cropped_copy(image: PILImage.Image, *, left: bool = True) -> bytes:
    """Return the image cropped 8% (off-centre: its left or right edge), resized to 80% and re-encoded as JPEG."""
    w, h = image.size
    cut = image.crop((round(w * 0.08), 0, w, h - round(h * 0.08)) if left else (0, 0, w - round(w * 0.08), h))
    return encoded(cut.resize((round(w * 0.8), round(h * 0.8)), PILImage.Resampling.LANCZOS), "JPEG")


@pytest.fixture
def planted(owner, media):
    """Return a dataset with a photo in train, its cropped copy in test, and another photo in val."""
    dataset = Dataset.objects.create(owner=owner, name="Planted")
    face = add(dataset, encoded(astronaut_face()), name="face.png", split="train")
    copy = add(dataset, cropped_copy(astronaut_face()), name="face-copy.jpg", split="test")
    camera = PILImage.fromarray(data.camera()).convert("RGB").crop((200, 100, 296, 196))
    other = add(dataset, encoded(camera), name="camera.png", split="val")
    dataset.refresh_from_db()
    dataset.pics = {"face": face, "copy": copy, "other": other}
    return dataset


def page(client, dataset, **query):
    return client.get(reverse("datachecks_page", args=[dataset.pk]), query)


def test_ingest_stores_nine_crop_hashes_and_the_whole_hash_misses_the_cropped_copy(planted):
    face, copy = (Image.objects.get(pk=planted.pics[k].pk) for k in ("face", "copy"))
    assert len(unpack_crops(face.phash_crops)) == 9
    assert hamming(as_unsigned(face.phash), as_unsigned(copy.phash)) > duplicates.DEFAULT_THRESHOLD


def test_the_import_workers_batch_insert_stores_the_crop_hashes_too(owner, media):
    from webapp.datasets.services.rows import insert_images
    from webapp.datasets.services.store import prepare_image

    dataset = Dataset.objects.create(owner=owner, name="Batch")
    outcome = prepare_image(dataset, encoded(astronaut_face()), name="face.png", label=None)
    insert_images([outcome.image])  # the import worker's batch insert (plain multi-row INSERT)
    stored = Image.objects.get(pk=outcome.image.pk)
    assert len(unpack_crops(stored.phash_crops)) == 9 and bytes(stored.phash_crops) == outcome.image.phash_crops


def test_the_page_groups_the_cropped_copy_and_warns_of_the_leak_but_not_the_other_photo(owner_client, planted):
    context = page(owner_client, planted).context
    face, copy, other = (planted.pics[k].pk for k in ("face", "copy", "other"))
    assert [[img.pk for img in g["images"]] for g in context["groups"]] == [[face, copy]]
    assert context["groups"][0]["leaks"] and context["counts"]["leaks"]["test_in_train"] == 1
    assert other not in {img.pk for g in context["groups"] for img in g["images"]}
    assert "1 test image has a near-copy in train" in page(owner_client, planted).content.decode()


def test_the_check_job_backfills_crop_hashes_and_finds_the_copy(planted, owner, sent_checks):
    Image.objects.filter(dataset=planted).update(phash_crops=None)  # images stored before crop hashes
    check = checks.start_check(planted, owner)
    assert run_check(check.pk, worker="test", token=check.task_id) == CheckStatus.SUCCEEDED
    check.refresh_from_db()
    assert not Image.objects.filter(dataset=planted, phash_crops__isnull=True).exists()
    face, copy = planted.pics["face"].pk, planted.pics["copy"].pk
    assert check.results["groups"] == [[face, copy]] and check.results["leaks"] == [[face, copy]]
    assert check.counts["leaks"]["test_in_train"] == 1


def test_after_a_check_the_page_reuses_its_pairs_and_searches_only_new_images(owner_client, planted, owner,
                                                                             sent_checks, monkeypatch):
    check = checks.start_check(planted, owner)
    run_check(check.pk, worker="test", token=check.task_id)
    searched = []
    real = duplicates.cropped_distances
    monkeypatch.setattr(duplicates, "cropped_distances",
                        lambda *a, **kw: searched.append(kw.get("among")) or real(*a, **kw))
    cache.clear()
    for threshold in (str(duplicates.DEFAULT_THRESHOLD), "6"):
        assert page(owner_client, planted, threshold=threshold).context["counts"]["groups"] == 1
    assert searched == []  # both thresholds are within the pairs the check kept
    second = add(planted, cropped_copy(astronaut_face(), left=False), name="face-copy-2.jpg", split="val")
    planted.refresh_from_db()
    context = page(owner_client, planted).context
    assert searched == [[3]]  # the added image (index 3 of 4) against all, not the whole square again
    assert context["groups"][0]["ids"] == ",".join(str(planted.pics[k].pk) for k in ("face", "copy")) + f",{second.pk}"
