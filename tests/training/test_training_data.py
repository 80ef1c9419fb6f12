"""Image folders and splits: stratified, seeded, and reading both folder layouts."""

from __future__ import annotations

import collections
import shutil

import pytest

from tests.training.training_helpers import make_colour_folder
from training import scan_image_folder, stratified_split


def test_split_is_stratified_per_class():
    labels = [0] * 50 + [1] * 30 + [2] * 20
    splits = stratified_split(labels, ratios=(0.8, 0.1, 0.1), seed=3)
    counts = collections.Counter(zip(labels, splits, strict=True))
    assert [counts[(c, "train")] for c in range(3)] == [40, 24, 16]
    assert [counts[(c, "val")] for c in range(3)] == [5, 3, 2]
    assert [counts[(c, "test")] for c in range(3)] == [5, 3, 2]


def test_split_is_deterministic_for_a_seed_and_changes_with_it():
    labels = [i % 4 for i in range(200)]
    first = stratified_split(labels, ratios=(0.7, 0.15, 0.15), seed=1)
    assert first == stratified_split(labels, ratios=(0.7, 0.15, 0.15), seed=1)
    assert first != stratified_split(labels, ratios=(0.7, 0.15, 0.15), seed=2)


def test_a_small_class_keeps_training_images():
    splits = stratified_split([0, 0, 0, 1, 1], ratios=(0.34, 0.33, 0.33), seed=0)
    assert splits[:3].count("train") >= 1 and splits[3:].count("train") >= 1


def test_split_rejects_ratios_that_do_not_add_up():
    with pytest.raises(ValueError, match="sum"):
        stratified_split([0, 1], ratios=(0.8, 0.1, 0.3), seed=0)


def test_scan_splits_a_plain_folder(colour_folder):
    source = scan_image_folder(colour_folder, seed=0)
    assert source.class_names == ["blue", "green", "red"]
    assert source.counts() == {"train": 48, "val": 6, "test": 6}
    assert source.key == scan_image_folder(colour_folder, seed=0).key
    assert source.key != scan_image_folder(colour_folder, seed=1).key  # a different split is other content


def test_scan_reads_split_folders(tmp_path):
    make_colour_folder(tmp_path / "train", per_class=5)
    make_colour_folder(tmp_path / "val", per_class=2, seed=1)
    make_colour_folder(tmp_path / "test", per_class=3, seed=2)
    source = scan_image_folder(tmp_path)
    assert source.counts() == {"train": 15, "val": 6, "test": 9}
    assert all(str(r.source).split("/")[-3] == r.split for r in source.records)


def test_scan_holds_out_validation_images_when_there_is_no_val_folder(tmp_path):
    make_colour_folder(tmp_path / "train", per_class=10)
    make_colour_folder(tmp_path / "test", per_class=2, seed=2)
    counts = scan_image_folder(tmp_path).counts()
    assert counts["val"] > 0 and counts["train"] + counts["val"] == 30 and counts["test"] == 6


def test_the_key_changes_when_a_file_changes(tmp_path):
    make_colour_folder(tmp_path, per_class=3)
    before = scan_image_folder(tmp_path).key
    shutil.copy(tmp_path / "red" / "000.png", tmp_path / "red" / "999.png")
    assert scan_image_folder(tmp_path).key != before


def test_scan_of_an_empty_folder_says_what_it_expected(tmp_path):
    with pytest.raises(ValueError, match="no images found"):
        scan_image_folder(tmp_path)
