"""The health panel's numbers: balance, splits, too-few warnings, sizes and import problems."""

import pytest

from tests import hostile_files as h
from tests.webapp.datasets.conftest import jpeg, upload
from webapp.datasets.services.bulk import move_to_split
from webapp.datasets.services.health import dataset_health
from webapp.datasets.services.ingest import add_image, upload_files

pytestmark = pytest.mark.django_db


@pytest.fixture
def lopsided(dataset, cats, dogs, media):
    """22 cats (20 train, 1 val, 1 test), 2 dogs in train, 1 unlabelled; sizes 8..24 px."""
    for i in range(22):
        split = "train" if i < 20 else ("val" if i == 20 else "test")
        add_image(dataset, jpeg(i, size=8 + (i % 3) * 8), name=f"c{i}.jpg", label=cats, split=split)
    for i in range(2):
        add_image(dataset, jpeg(100 + i, size=16), name=f"d{i}.jpg", label=dogs, split="train")
    add_image(dataset, jpeg(200, size=16), name="x.jpg", label=None)
    return dataset


def test_counts_per_class_and_split(lopsided):
    health = dataset_health(lopsided)
    assert (health["total"], health["labelled"], health["unlabelled"], health["unassigned"]) == (25, 24, 1, 1)
    assert health["per_split"] == {"train": 22, "val": 1, "test": 1, "unassigned": 1}
    assert [(c["name"], c["count"], c["per_split"]) for c in health["classes"]] == [
        ("cats", 22, {"train": 20, "val": 1, "test": 1, "unassigned": 0}),
        ("dogs", 2, {"train": 2, "val": 0, "test": 0, "unassigned": 0}),
    ]


def test_imbalance_over_ten_to_one_is_a_warning(lopsided):
    health = dataset_health(lopsided)
    assert health["imbalance"] == {"ratio": 11.0, "largest": "cats", "smallest": "dogs", "threshold": 10.0,
                                   "warning": True}
    assert "Classes are imbalanced: 'cats' has 11 times as many images as 'dogs'." in health["warnings"]


def test_classes_with_too_few_images_in_a_split_are_listed(lopsided):
    too_few = {(t["class"], t["split"]): t["count"] for t in dataset_health(lopsided)["too_few"]}
    assert too_few == {("cats", "val"): 1, ("cats", "test"): 1, ("dogs", "train"): 2, ("dogs", "val"): 0,
                       ("dogs", "test"): 0}


def test_image_sizes_are_summarised(lopsided):
    sizes = dataset_health(lopsided)["sizes"]
    assert sizes["width"] == {"min": 8, "median": 16, "max": 24}
    assert sizes["height"] == sizes["width"]


def test_rejections_duplicates_and_conflicts_from_imports_are_counted(dataset, cats, dogs, owner, media):
    upload_files(dataset, [upload("a.jpg", jpeg(1)), upload("bad.jpg", h.text_file())], label=cats, split=None,
                 user=owner)
    upload_files(dataset, [upload("a2.jpg", jpeg(1)), upload("e.jpg", h.empty_file())], label=dogs, split=None,
                 user=owner)
    upload_files(dataset, [upload("a3.jpg", jpeg(1))], label=cats, split=None, user=owner)
    imports = dataset_health(dataset)["imports"]
    assert (imports["rejected"], imports["duplicates"], imports["conflicts"]) == (2, 1, 1)
    assert [c["name"] for c in imports["recent_conflicts"]] == ["a2.jpg"]


def test_health_is_recomputed_when_the_dataset_changes_and_cached_otherwise(lopsided, django_assert_max_num_queries):
    first = dataset_health(lopsided)
    with django_assert_max_num_queries(4):  # revision, imports: the image numbers come from the cache
        assert dataset_health(lopsided) == first
    move_to_split(lopsided, list(lopsided.images.filter(split="train").values_list("pk", flat=True)[:5]), "val")
    assert dataset_health(lopsided)["per_split"]["val"] == 6


def test_an_empty_dataset_says_so(dataset):
    health = dataset_health(dataset)
    assert health["total"] == 0 and health["warnings"] == ["The dataset has no images yet."]
    assert health["sizes"]["width"] == {"min": None, "median": None, "max": None}
