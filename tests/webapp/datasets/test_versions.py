"""Versions: what a freeze takes, that it never changes afterwards, and the exported ZIP."""

import csv
import io
import json
import zipfile

import pytest
from django.core.exceptions import ValidationError

from tests.webapp.datasets.conftest import jpeg
from webapp.datasets.models import DatasetVersion
from webapp.datasets.services.bulk import delete_images, move_to_split, relabel
from webapp.datasets.services.classes import create_class, delete_class, merge_classes, rename_class
from webapp.datasets.services.ingest import add_image
from webapp.datasets.services.versions import (
    dataset_changed_since_last_version,
    export_version_zip,
    freeze_version,
    version_records,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def filled(dataset, cats, dogs, media):
    """Two cats in train, one dog in val, one dog unassigned, one unlabelled image in test."""
    add = lambda seed, label, split: add_image(dataset, jpeg(seed), name=f"{seed}.jpg", label=label,  # noqa: E731
                                               split=split).image
    return {"cat1": add(1, cats, "train"), "cat2": add(2, cats, "train"), "dog": add(3, dogs, "val"),
            "loose_dog": add(4, dogs, "unassigned"), "nobody": add(5, None, "test")}


def snapshot(version) -> list[tuple[int, int, str]]:
    return list(version.entries.order_by("image_id").values_list("image_id", "class_index", "split"))


def test_a_version_holds_every_labelled_image_with_a_split(dataset, filled, owner):
    version = freeze_version(dataset, user=owner, note="first")
    assert version.number == 1 and version.note == "first"
    assert version.class_names == ["cats", "dogs"]
    assert snapshot(version) == [(filled["cat1"].pk, 0, "train"), (filled["cat2"].pk, 0, "train"),
                                 (filled["dog"].pk, 1, "val")]
    assert version.counts["total"] == 3
    assert version.counts["per_split"] == {"train": 2, "val": 1, "test": 0}
    assert version.counts["per_class"] == {"cats": {"train": 2, "val": 0, "test": 0},
                                           "dogs": {"train": 0, "val": 1, "test": 0}}
    assert version.counts["left_out"] == {"unlabelled": 1, "unassigned": 1, "empty_classes": []}
    assert len(version.content_hash) == 64


def test_freezing_an_unchanged_dataset_returns_the_latest_version(dataset, filled, owner):
    first = freeze_version(dataset, user=owner)
    assert not dataset_changed_since_last_version(dataset)
    assert freeze_version(dataset, user=owner) == first
    move_to_split(dataset, [filled["loose_dog"].pk], "test")
    assert dataset_changed_since_last_version(dataset)
    second = freeze_version(dataset, user=owner)
    assert second.number == 2 and second.counts["total"] == 4


def test_relabelling_deleting_and_renaming_never_change_an_existing_version(dataset, filled, owner, cats, dogs):
    version = freeze_version(dataset, user=owner)
    before = (snapshot(version), version.class_names, version.counts, version.content_hash)
    relabel(dataset, [filled["cat1"].pk], dogs)
    move_to_split(dataset, [filled["cat2"].pk], "test")
    delete_images(dataset, [filled["dog"].pk])
    rename_class(cats, "kittens")
    merge_classes(create_class(dataset, "birds"), dogs)
    delete_class(dogs, delete_images=False)
    version = DatasetVersion.objects.get(pk=version.pk)
    assert (snapshot(version), version.class_names, version.counts, version.content_hash) == before
    records, names = version_records(version)
    assert names == ["cats", "dogs"]
    assert [(r[0], r[2], r[3]) for r in records] == before[0]


def test_version_records_give_storage_names_for_training(dataset, filled, owner):
    records, names = version_records(freeze_version(dataset, user=owner))
    assert records[0] == (filled["cat1"].pk, filled["cat1"].file.name, 0, "train")
    assert names == ["cats", "dogs"]


def test_classes_without_images_in_the_version_are_left_out_and_named(dataset, filled, owner):
    create_class(dataset, "birds")
    version = freeze_version(dataset, user=owner)
    assert version.class_names == ["cats", "dogs"]
    assert version.counts["left_out"]["empty_classes"] == ["birds"]


def test_nothing_to_freeze_is_a_clear_error(dataset, cats, owner, media):
    add_image(dataset, jpeg(1), name="a.jpg", label=cats)  # no split
    with pytest.raises(ValidationError, match="no image has both a class and a train, val or test split"):
        freeze_version(dataset, user=owner)


def test_the_same_content_gives_the_same_hash(dataset, filled, owner):
    first = freeze_version(dataset, user=owner)
    move_to_split(dataset, [filled["cat1"].pk], "val")
    second = freeze_version(dataset, user=owner)
    move_to_split(dataset, [filled["cat1"].pk], "train")
    assert second.content_hash != first.content_hash
    assert freeze_version(dataset, user=owner).content_hash == first.content_hash


def test_the_exported_zip_holds_exactly_the_version_in_imagefolder_layout(dataset, filled, owner, media):
    version = freeze_version(dataset, user=owner)
    relabel(dataset, [filled["cat1"].pk], None)  # later changes do not leak into the export
    chunks = list(export_version_zip(version))
    assert len(chunks) > 3  # streamed piece by piece
    with zipfile.ZipFile(io.BytesIO(b"".join(chunks))) as zf:
        names = sorted(n for n in zf.namelist() if n.endswith(".jpg"))
        assert names == ["train/cats/1.jpg", "train/cats/2.jpg", "val/dogs/3.jpg"]  # the names they came with
        assert zf.read("val/dogs/3.jpg") == jpeg(3)
        assert json.loads(zf.read("version.json"))["class_names"] == ["cats", "dogs"]
        manifest = zf.read("manifest.csv").decode().splitlines()
        assert manifest[0] == "path,class,split,sha256,original_name" and len(manifest) == 4
        assert zf.testzip() is None


def test_the_zip_keeps_original_file_names_made_safe_and_distinct(dataset, cats, owner, media):
    names = ["leaf.jpg", "LEAF.JPG", "photos/2024/leaf.jpg", "..\\..\\evil.jpeg", ".hidden.jpg", "no extension",
             "wrong.png", "", "a:b\x07c.jpg"]
    images = [add_image(dataset, jpeg(seed), name=name, label=cats, split="train").image
              for seed, name in enumerate(names, start=10)]
    version = freeze_version(dataset, user=owner)
    with zipfile.ZipFile(io.BytesIO(b"".join(export_version_zip(version)))) as zf:
        rows = csv.DictReader(io.StringIO(zf.read("manifest.csv").decode()))
        path_of = {row["sha256"]: row["path"] for row in rows}
        assert sorted(path_of.values()) == sorted(n for n in zf.namelist() if n.startswith("train/"))
        assert zf.read(path_of[images[3].sha256]) == jpeg(13)
    paths = [path_of[image.sha256].removeprefix("train/cats/") for image in images]
    # In the order they are written (by id): the first "leaf.jpg" keeps its name, later ones are numbered.
    assert paths == ["leaf.jpg", "LEAF (2).JPG", "leaf (3).jpg", "evil.jpeg", "hidden.jpg", "no extension.jpg",
                     "wrong.png.jpg", f"{images[7].pk}.jpg", "a_b_c.jpg"]  # wrong.png's bytes are a JPEG


def test_class_names_that_are_not_safe_folder_names_are_made_safe(dataset, owner, media):
    from webapp.datasets.services.versions import class_folders

    assert class_folders(["a/b", "..", ".hidden", "A/B", "ok"]) == ["a_b", "_..", "_.hidden", "A_B_3", "ok"]
