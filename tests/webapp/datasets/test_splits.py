"""Automatic train/val/test splits: stratified per class and the same for the same seed."""

import pytest
from django.core.exceptions import ValidationError

from tests.webapp.datasets.conftest import jpeg
from webapp.datasets.models import Image
from webapp.datasets.services.ingest import add_image
from webapp.datasets.services.splits import allocate, auto_split

pytestmark = pytest.mark.django_db


@pytest.fixture
def filled(dataset, cats, dogs, media):
    for i in range(20):
        add_image(dataset, jpeg(i, size=8), name=f"c{i}.jpg", label=cats)
    for i in range(20, 30):
        add_image(dataset, jpeg(i, size=8), name=f"d{i}.jpg", label=dogs)
    return dataset


def assignment(dataset) -> dict[int, str]:
    return dict(Image.objects.filter(dataset=dataset).values_list("pk", "split"))


def test_each_class_is_split_by_the_ratios(filled, cats, dogs):
    counts = auto_split(filled, train=0.6, val=0.2, test=0.2, seed=1)
    assert counts == {"train": 18, "val": 6, "test": 6, "images": 30, "groups": 2}
    per_class = {(c, s): Image.objects.filter(label=c, split=s).count() for c in (cats, dogs)
                 for s in ("train", "val", "test")}
    assert [per_class[(cats, s)] for s in ("train", "val", "test")] == [12, 4, 4]
    assert [per_class[(dogs, s)] for s in ("train", "val", "test")] == [6, 2, 2]


def test_the_same_seed_gives_the_same_split_and_another_seed_another(filled):
    auto_split(filled, train=0.7, val=0.15, test=0.15, seed=42)
    first = assignment(filled)
    auto_split(filled, train=0.7, val=0.15, test=0.15, seed=7)
    other = assignment(filled)
    auto_split(filled, train=0.7, val=0.15, test=0.15, seed=42)
    assert assignment(filled) == first
    assert other != first


def test_only_unassigned_images_can_be_split_leaving_manual_choices_alone(filled):
    pinned = list(Image.objects.filter(dataset=filled).values_list("pk", flat=True)[:5])
    Image.objects.filter(pk__in=pinned).update(split="test")
    auto_split(filled, train=1, val=0, test=0, seed=0, only_unassigned=True)
    assert set(Image.objects.filter(pk__in=pinned).values_list("split", flat=True)) == {"test"}
    assert Image.objects.filter(split="train").count() == 25


def test_percentages_work_like_fractions(filled):
    auto_split(filled, train=70, val=15, test=15, seed=3)
    by_percent = assignment(filled)
    auto_split(filled, train=0.7, val=0.15, test=0.15, seed=3)
    assert assignment(filled) == by_percent


def test_a_small_class_still_gets_an_image_in_every_split():
    assert allocate(3, (0.8, 0.1, 0.1)) == [1, 1, 1]
    assert allocate(10, (0.8, 0.1, 0.1)) == [8, 1, 1]
    assert allocate(1, (0.8, 0.1, 0.1)) == [1, 0, 0]
    assert allocate(5, (1.0, 0.0, 0.0)) == [5, 0, 0]


@pytest.mark.parametrize("ratios", [(0, 0, 0), (-1, 1, 1), ("a", 1, 1)])
def test_impossible_ratios_are_refused(dataset, ratios):
    train, val, test = ratios
    with pytest.raises(ValidationError):
        auto_split(dataset, train=train, val=val, test=test, seed=0)
