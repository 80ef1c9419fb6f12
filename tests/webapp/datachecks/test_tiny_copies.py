"""Copies of tiny images (8x8 digits) that the crop hashes miss are found by the check job's pixel comparison."""

import io

import numpy as np
import pytest
from django.urls import reverse
from PIL import Image as PILImage
from sklearn.datasets import load_digits

from tests.webapp.datachecks.conftest import add, encoded
from training.datacheck.groups import cropped_distances
from webapp.datachecks.hashing import unpack_crops
from webapp.datachecks.models import CheckStatus
from webapp.datachecks.services import checks, duplicates
from webapp.datachecks.worker import run_check
from webapp.datasets.models import Dataset, Image

pytestmark = pytest.mark.django_db
DIGITS = 120  # enough same-class look-alikes (about 12 of each digit) to be grouped by mistake


def jpeg(image: PILImage.Image, quality: int) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


@pytest.fixture
def digits(owner, media):
    """Return a dataset of 120 scikit-learn digits in train and, in test, two copies: one shaved, one re-encoded."""
    loaded = load_digits()
    pixels = np.round(loaded.images[:DIGITS] * (255 / 16)).astype(np.uint8)
    pictures = [PILImage.fromarray(p, "L") for p in pixels]
    dataset = Dataset.objects.create(owner=owner, name="Digits")
    originals = [add(dataset, encoded(p), name=f"d{i}.png", split="train") for i, p in enumerate(pictures)]
    # Shaved by a pixel on the left and resized back to 8x8; and saved as JPEG at a quality not among tiny's.
    shaved = pictures[3].crop((1, 0, 8, 8)).resize((8, 8), PILImage.Resampling.BILINEAR)
    copies = {"shaved": add(dataset, encoded(shaved), name="shaved.png", split="test"),
              "jpeg": add(dataset, jpeg(pictures[7], 72), name="jpeg.jpg", split="test")}
    dataset.refresh_from_db()
    dataset.pics = {"originals": originals, **copies}
    return dataset


def page(client, dataset, **query):
    return client.get(reverse("datachecks_page", args=[dataset.pk]), query)


def group_ids(context) -> list[list[int]]:
    return sorted(sorted(img.pk for img in g["images"]) for g in context["groups"])


def test_the_crop_hashes_alone_miss_the_shaved_copy(digits):
    rows = list(Image.objects.filter(dataset=digits).order_by("pk").values_list("pk", "phash", "phash_crops"))
    near = cropped_distances([h for _, h, _ in rows], [unpack_crops(c) for _, _, c in rows],
                             duplicates.DEFAULT_THRESHOLD)
    index = {pk: i for i, (pk, _, _) in enumerate(rows)}
    original, shaved = index[digits.pics["originals"][3].pk], index[digits.pics["shaved"].pk]
    assert (original, shaved) not in near


def test_the_check_job_finds_both_copies_and_the_page_shows_them_as_leaks(owner_client, owner, digits, sent_checks):
    originals = digits.pics["originals"]
    expected = sorted([sorted([originals[3].pk, digits.pics["shaved"].pk]),
                       sorted([originals[7].pk, digits.pics["jpeg"].pk])])
    assert group_ids(page(owner_client, digits).context) != expected  # hashes + confirm alone: not both

    check = checks.start_check(digits, owner)
    assert run_check(check.pk, worker="test", token=check.task_id) == CheckStatus.SUCCEEDED
    check.refresh_from_db()
    assert check.counts["leaks"]["test_in_train"] == 2
    assert all(bits <= duplicates.DEFAULT_THRESHOLD for _, _, bits in check.results["pairs"])

    context = page(owner_client, digits).context
    # Exactly the two planted pairs: no other digit (12 or so of each class here) is grouped with them.
    assert group_ids(context) == expected
    assert all(g["leaks"] for g in context["groups"])
    assert "2 test images have a near-copy in train" in page(owner_client, digits).content.decode()
    # A higher threshold than the check kept searches the hashes again but keeps the pixel pairs it found.
    wider = [set(g) for g in group_ids(page(owner_client, digits, threshold="14").context)]
    assert all(any(set(pair) <= g for g in wider) for pair in expected)

    leakage = owner_client.get(reverse("datachecks_leakage"), {"dataset": digits.pk}).json()
    assert "2 test images have a near-copy in train" in " ".join(leakage["warnings"])


def test_an_automatic_check_finds_a_tiny_copy_uploaded_after_a_check(digits, owner, sent_checks, monkeypatch,
                                                                     django_capture_on_commit_callbacks):
    monkeypatch.setattr(duplicates, "INLINE_COMPARE_LIMIT", 10)  # 122 images: a large dataset here
    first = checks.start_check(digits, owner, threshold=10)
    assert run_check(first.pk, worker="test", token=first.task_id) == CheckStatus.SUCCEEDED
    picture = PILImage.open(digits.pics["originals"][11].file).convert("L")
    shaved = picture.crop((0, 0, 7, 8)).resize((8, 8), PILImage.Resampling.BILINEAR)
    with django_capture_on_commit_callbacks(execute=True):
        new = add(digits, encoded(shaved), name="shaved-11.png", split="val")
    auto = digits.data_checks.get(automatic=True)
    compared = []
    real = duplicates.search
    monkeypatch.setattr(duplicates, "search", lambda rows, t, among=None: compared.append(among) or
                        real(rows, t, among))
    assert run_check(auto.pk, worker="test", token=auto.task_id) == CheckStatus.SUCCEEDED
    assert compared == [{new.pk}]
    auto.refresh_from_db()
    pairs = {(a, b) for a, b, _ in auto.results["pairs"]}
    assert (digits.pics["originals"][11].pk, new.pk) in pairs  # found by its pixels
    assert {(a, b) for a, b, _ in first.__class__.objects.get(pk=first.pk).results["pairs"]} < pairs  # kept
    assert auto.counts["leaks"]["val_in_train"] >= 1
