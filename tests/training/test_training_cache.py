"""The decoded-image cache: built once, reused without decoding, robust to bad files and crashes."""

from __future__ import annotations

import shutil

import torch

from tests.training.training_helpers import make_colour_folder
from training import DataSource, ImageRecord, build_cache, scan_image_folder
from training.cache import cache_name


def test_it_decodes_every_image_into_split_slices(colour_data):
    assert colour_data.decoded == 60 and colour_data.errors == []
    train = colour_data.split("train")
    assert train.images.shape == (48, 3, 16, 16) and train.images.dtype == torch.uint8
    assert len(colour_data.split("val")) == 6 and len(colour_data.split("test")) == 6
    # Red images are red: the cache holds pixels, channel first.
    red = colour_data.class_names.index("red")
    reds = train.images[train.labels == red].float()
    assert reds[:, 0].mean() > 150 and reds[:, 2].mean() < 100


def test_a_second_build_reuses_the_cache_without_decoding(tmp_path):
    folder = make_colour_folder(tmp_path / "images", per_class=4)
    source = scan_image_folder(folder)
    first = build_cache(source, cache_size=16, cache_dir=tmp_path / "cache")
    assert first.decoded == 12
    shutil.rmtree(folder)  # nothing left to decode: a reuse must not need the files
    second = build_cache(source, cache_size=16, cache_dir=tmp_path / "cache")
    assert second.decoded == 0
    assert torch.equal(first.images, second.images) and torch.equal(first.labels, second.labels)


def test_another_size_is_another_cache(tmp_path):
    source = scan_image_folder(make_colour_folder(tmp_path / "images", per_class=2))
    assert build_cache(source, cache_size=8, cache_dir=tmp_path / "c").images.shape[-1] == 8
    assert build_cache(source, cache_size=12, cache_dir=tmp_path / "c").decoded == 6


def test_a_corrupt_file_is_reported_and_left_out(tmp_path):
    folder = make_colour_folder(tmp_path / "images", per_class=4)
    (folder / "red" / "000.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    source = scan_image_folder(folder, ratios=(1.0, 0.0, 0.0))
    bad = next(i for i, r in enumerate(source.records) if str(r.source).endswith("red/000.png"))
    cached = build_cache(source, cache_size=16, cache_dir=tmp_path / "cache")
    assert [index for index, _ in cached.errors] == [bad]
    assert "000.png" in cached.errors[0][1]
    assert len(cached.split("train")) == 11 and bad not in cached.split("train").record_indices


def test_a_half_written_cache_is_not_reused(tmp_path):
    source = scan_image_folder(make_colour_folder(tmp_path / "images", per_class=2))
    first = build_cache(source, cache_size=16, cache_dir=tmp_path / "cache")
    data_file = first.path
    with open(data_file, "r+b") as f:  # as if the machine died while writing
        f.truncate(data_file.stat().st_size // 2)
    assert build_cache(source, cache_size=16, cache_dir=tmp_path / "cache").decoded == 6


def test_records_may_be_callables_that_open_the_image(tmp_path):
    folder = make_colour_folder(tmp_path / "images", per_class=2)
    paths = sorted(folder.rglob("*.png"))
    records = [ImageRecord(source=lambda p=p: open(p, "rb"), label=i % 2, split="train")
               for i, p in enumerate(paths)]
    cached = build_cache(DataSource(records=records, class_names=["a", "b"], key="version-7"),
                         cache_size=8, cache_dir=tmp_path / "cache")
    assert cached.decoded == 6 and len(cached.split("train")) == 6
    assert (tmp_path / "cache" / f"{cache_name('version-7', 8)}.u8").exists()


def test_progress_is_reported_up_to_the_total(tmp_path):
    source = scan_image_folder(make_colour_folder(tmp_path / "images", per_class=20))
    seen = []
    build_cache(source, cache_size=8, cache_dir=tmp_path / "cache", progress=lambda d, t: seen.append((d, t)))
    assert seen[-1] == (60, 60)
