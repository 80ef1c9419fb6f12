"""Reading an uploaded ZIP: what is taken, what is skipped and why, and what stops the whole import."""

import io
import random
import stat
import time
import tracemalloc
import zipfile
import zlib

import pytest

from tests import hostile_files as h
from webapp.datasets.archive import (
    ArchiveEntry,
    ArchiveLimits,
    BadArchive,
    SkippedEntry,
    archive_layout,
    count_entries,
    iter_archive,
    labels_csv_name,
    layout_of,
    read_labels_csv,
)
from webapp.datasets.csvlabels import parse_labels_csv
from webapp.datasets.validation import RejectedFile, check_image, format_bytes

MiB = 1024**2


def items(data: bytes, **kwargs) -> list:
    return list(iter_archive(io.BytesIO(data), **kwargs))


def entries(data: bytes, **kwargs) -> dict[str, ArchiveEntry]:
    return {e.name: e for e in items(data, **kwargs) if isinstance(e, ArchiveEntry)}


def skipped(data: bytes, **kwargs) -> dict[str, tuple[str, str, bool]]:
    found = [s for s in items(data, **kwargs) if isinstance(s, SkippedEntry)]
    return {s.name: (s.reason, s.message, s.silent) for s in found}


def read_all(data: bytes, **kwargs) -> dict[str, bytes | str]:
    """Return each file's bytes, or its rejection reason, reading while iterating."""
    out = {}
    for item in iter_archive(io.BytesIO(data), **kwargs):
        if isinstance(item, ArchiveEntry):
            try:
                out[item.name] = item.read()
            except RejectedFile as e:
                out[item.name] = e.reason
    return out


def bad_archive(data: bytes, **kwargs) -> str:
    with pytest.raises(BadArchive) as caught:
        list(iter_archive(io.BytesIO(data), **kwargs))
    return caught.value.message


# ---------------------------------------------------------------- paths


def test_it_refuses_paths_that_escape_instead_of_rewriting_them():
    assert skipped(h.traversal_zip()) == {
        "../evil.png": ("unsafe_path", "the path climbs out of its folder (..)", False),
        "cats/../../x.png": ("unsafe_path", "the path climbs out of its folder (..)", False),
        "/abs.png": ("unsafe_path", "the path is absolute (it starts with /)", False),
        "c:\\x.png": ("unsafe_path", "the path uses backslashes (\\); paths in a ZIP use /", False),
        "C:/y.png": ("unsafe_path", "the path starts with a drive letter", False),
        "cats\\z.png": ("unsafe_path", "the path uses backslashes (\\); paths in a ZIP use /", False),
    }
    found = entries(h.traversal_zip())
    assert list(found) == ["cats/ok.png"]  # never a 'cats/x.png' made out of 'cats/../../x.png'
    assert (found["cats/ok.png"].label, found["cats/ok.png"].read()) == ("cats", h.good_png(8, 8))


def test_it_reports_symlinks_and_does_not_follow_them():
    expected = {"cats/link.png": ("symlink", "symbolic links are not followed", False)}
    assert skipped(h.symlink_zip()) == expected
    assert list(entries(h.symlink_zip())) == ["cats/ok.png"]


@pytest.mark.parametrize(("name", "message"), [
    ("a/./b.png", "the path has an empty or '.' folder"),
    ("a//b.png", "the path has an empty or '.' folder"),
    ("a/b\x01.png", "the path contains control characters"),
    ("/".join(["d"] * 11) + "/x.png", "the path is 11 folders deep; the limit is 10"),
    ("x" * 501, "the path is longer than 500 characters"),
])
def test_it_reports_other_unsafe_paths(name, message):
    assert skipped(h.zip_of({name: b"x"})) == {name: ("unsafe_path", message, False)}


def test_it_skips_system_clutter_silently():
    assert skipped(h.macos_junk_zip()) == {
        "cats/": ("directory", "folder", True),
        "__MACOSX/cats/._a.png": ("junk", "macOS metadata", True),
        "cats/.DS_Store": ("junk", "hidden file", True),
        ".DS_Store": ("junk", "hidden file", True),
        "cats/Thumbs.db": ("junk", "Windows metadata", True),
        ".git/config": ("junk", "hidden file", True),
    }
    assert list(entries(h.macos_junk_zip())) == ["cats/a.png"]
    assert count_entries(io.BytesIO(h.macos_junk_zip())) == 1


def test_it_reports_archives_inside_the_archive_as_skipped():
    message = "archives inside the archive are not opened: unpack it and add its files"
    assert skipped(h.nested_zip()) == {
        "more.zip": ("nested_archive", message, False),
        "cats/backup.tar.gz": ("nested_archive", message, False),
        "dogs/old.7z": ("nested_archive", message, False),
    }


def test_it_reports_entries_it_cannot_decompress():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("cats/a.png", h.good_png(), compress_type=zipfile.ZIP_BZIP2)
    locked = h.raw_zip([h.RawEntry("cats/b.png", b"\0" * 12, 0, 12, method=zipfile.ZIP_STORED,
                                   flag_bits=0x801)])  # bit 0: encrypted
    message = "the file is compressed with BZIP2: make the ZIP with standard compression"
    assert skipped(buf.getvalue()) == {"cats/a.png": ("unsupported_compression", message, False)}
    assert skipped(locked) == {"cats/b.png": ("encrypted", "the file is password-protected", False)}


# ---------------------------------------------------------------- labels and layouts


def test_the_class_folder_is_the_label():
    found = entries(h.imagefolder_zip())
    assert {n: (e.label, e.split, e.size) for n, e in found.items()} == {
        "cats/a.jpg": ("cats", None, len(h.good_jpeg(seed=1))),
        "cats/b.png": ("cats", None, len(h.good_png(seed=2))),
        "dogs/c.jpg": ("dogs", None, len(h.good_jpeg(seed=3))),
        "dogs/d.webp": ("dogs", None, len(h.good_webp())),
    }
    assert archive_layout(io.BytesIO(h.imagefolder_zip())) == "imagefolder"


def test_split_folders_set_the_split():
    found = entries(h.split_layout_zip())
    assert [(e.label, e.split) for e in found.values()] == [
        ("cats", "train"), ("dogs", "train"), ("cats", "val"), ("dogs", "test")]
    assert archive_layout(io.BytesIO(h.split_layout_zip())) == "split_imagefolder"


@pytest.mark.parametrize(("path", "label", "split"), [
    ("x.png", None, None),
    ("cats/x.png", "cats", None),
    ("photos/cats/x.png", "cats", None),  # a wrapping folder changes nothing: the innermost folder wins
    ("cats/indoor/x.png", "indoor", None),
    ("mydata/Train/cats/x.png", "cats", "train"),
    ("Validation/dogs/x.png", "dogs", "val"),
    ("train/cats/indoor/x.png", "indoor", "train"),
    ("test/x.png", None, "test"),  # straight inside a split folder: that split, no label
])
def test_label_rules_for_deeper_folders(path, label, split):
    (entry,) = entries(h.zip_of({path: b"x"})).values()
    assert (entry.label, entry.split) == (label, split)


def test_a_class_folder_name_too_long_for_a_class_is_reported():
    name = "c" * 201 + "/x.png"
    message = "the class folder's name is longer than 200 characters"
    assert skipped(h.zip_of({name: b"x", "c/y.png": b"y"})) == {name: ("label_too_long", message, False)}


def test_unicode_class_names_are_normalised_and_stripped():
    found = entries(h.unicode_zip())
    assert [e.label for e in found.values()] == [h.UNICODE_CLASS_NFC, h.UNICODE_CLASS_NFC]
    assert f"{h.UNICODE_CLASS_NFD}/{h.UNICODE_NAME}" in found  # the name itself is shown as it was


@pytest.mark.parametrize(("names", "layout"), [
    (["a.png", "b.jpg"], "flat"),
    (["cats/a.png", "dogs/b.png", "readme.txt"], "imagefolder"),
    (["train/cats/a.png", "val/cats/b.png"], "split_imagefolder"),
    (["labels.csv", "a.png"], "csv"),
    (["Labels.CSV", "img/a.png"], "csv"),
    (["data/labels.csv", "data/a.png"], "csv"),
    (["other/labels.csv", "cats/a.png"], "imagefolder"),  # a labels.csv in some folder is just a file
    (["__MACOSX/train/cats/._a.png", "a.png", "../train/x/y.png"], "flat"),
    ([], "flat"),
])
def test_layout_of_names(names, layout):
    assert layout_of(names) == layout


def test_a_labels_csv_labels_the_images():
    data = h.csv_layout_zip()
    assert archive_layout(io.BytesIO(data)) == "csv"
    labels = parse_labels_csv(read_labels_csv(io.BytesIO(data)))
    found = entries(data, labels=labels)
    assert {n: (e.label, e.split) for n, e in found.items()} == {
        "a.png": ("cats", "train"), "b.png": ("dogs", "val"), "sub/c.png": ("cats", None),
        "d.png": (None, None),  # not in the CSV: unlabelled
    }
    assert skipped(data) == {"labels.csv": ("labels_file", "the labels file, read separately", True)}


def test_a_labels_csv_in_a_wrapping_folder_is_relative_to_it():
    data = h.zip_of({"data/labels.csv": b"a.png,cats\n", "data/a.png": h.good_png()})
    assert labels_csv_name(["data/labels.csv", "data/a.png"]) == "data/labels.csv"
    (entry,) = entries(data, labels=parse_labels_csv(read_labels_csv(io.BytesIO(data)))).values()
    assert (entry.name, entry.label) == ("data/a.png", "cats")


def test_an_archive_without_labels_csv_has_none_to_read():
    assert read_labels_csv(io.BytesIO(h.imagefolder_zip())) is None


# ---------------------------------------------------------------- broken archives


def test_a_broken_zip_is_one_clear_error():
    message = "the ZIP archive is damaged: its end is missing (was the upload cut short?)"
    assert bad_archive(h.broken_zip()) == message
    with pytest.raises(BadArchive, match="damaged"):
        count_entries(io.BytesIO(h.broken_zip()))


@pytest.mark.parametrize(("data", "message"), [
    (h.not_a_zip(), "this file is not a ZIP archive"),
    (b"", "this file is not a ZIP archive: it is empty"),
    (b"Rar!\x1a\x07\x01\x00" + b"\0" * 40, "this file is not a ZIP archive: it looks like a RAR archive"),
    (b"7z\xbc\xaf\x27\x1c" + b"\0" * 40, "this file is not a ZIP archive: it looks like a 7-Zip archive"),
])
def test_a_file_that_is_not_a_zip_says_so(data, message):
    assert bad_archive(data) == message


def test_a_damaged_table_of_contents_is_one_clear_error():
    data = bytearray(h.imagefolder_zip())
    data[data.rindex(b"PK\x01\x02")] = ord("X")  # the last table-of-contents record loses its signature
    assert bad_archive(bytes(data)) == "the ZIP archive is damaged: its table of contents cannot be read"


def test_a_damaged_entry_is_rejected_and_the_rest_go_on():
    found = read_all(h.corrupt_entry_zip())
    assert found == {"cats/a.png": h.good_png(seed=1), "cats/b.png": "corrupt",
                     "dogs/c.png": h.good_png(seed=3)}
    damaged = entries(h.corrupt_entry_zip())["cats/b.png"]
    with pytest.raises(RejectedFile) as caught:
        damaged.read()
    assert caught.value.message == "the file is damaged inside the ZIP: its checksum does not match"


def test_mixed_good_and_bad_files_each_get_their_own_verdict():
    verdicts = {}
    for item in iter_archive(io.BytesIO(h.mixed_zip())):
        try:
            verdicts[item.name] = (item.label, check_image(item.read()).format)
        except RejectedFile as e:
            verdicts[item.name] = (item.label, e.reason)
    assert verdicts == {
        "cats/good1.jpg": ("cats", "JPEG"), "cats/truncated.jpg": ("cats", "truncated"),
        "cats/notes.jpg": ("cats", "not_an_image"), "dogs/login.png": ("dogs", "not_an_image"),
        "dogs/good2.png": ("dogs", "PNG"), "dogs/bomb.png": ("dogs", "too_many_pixels"),
        "dogs/good3.gif": ("dogs", "GIF"),
    }


# ---------------------------------------------------------------- limits


def test_a_zip_bomb_is_refused_without_unpacking_it():
    data = h.zip_bomb()  # 1 GiB of zeros
    assert len(data) < 2 * MiB
    tracemalloc.start()
    started = time.perf_counter()
    try:
        (entry,) = entries(data).values()
        with pytest.raises(RejectedFile) as caught:
            entry.read()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    message = "the file would unpack from 1 MB to 1 GB: this looks like a zip bomb, so it was not unpacked"
    assert (caught.value.reason, caught.value.message) == ("zip_bomb", message)
    assert entry.size == 1024**3
    assert time.perf_counter() - started < 1.0
    assert peak < 4 * MiB


def test_a_bomb_whose_headers_lie_still_stops_at_the_claimed_size():
    data = h.zip_bomb(claimed_size=4 * MiB)  # really 1 GiB; the headers claim 4 MiB
    tracemalloc.start()
    started = time.perf_counter()
    try:
        assert read_all(data) == {"cats/bomb.bmp": "corrupt"}
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - started < 1.0
    assert peak < 16 * MiB


def test_the_bomb_generator_makes_a_valid_zip():
    data = h.zip_bomb(8 * MiB)
    assert zipfile.ZipFile(io.BytesIO(data)).testzip() is None  # every CRC checks out
    assert read_all(data) == {"cats/bomb.bmp": "zip_bomb"}  # 8 MiB from 8 KB
    assert read_all(data, limits=ArchiveLimits(max_ratio=2000)) == {"cats/bomb.bmp": b"\0" * 8 * MiB}


def test_a_blank_image_that_compresses_well_is_not_called_a_bomb():
    blank = b"BM" + b"\0" * (900 * 1024)  # like an uncompressed all-black BMP
    data = h.zip_of({"cats/black.bmp": blank})
    assert len(data) < len(blank) // 200  # packs far tighter than the ratio cap...
    assert read_all(data) == {"cats/black.bmp": blank}  # ...but stays under the size where the cap applies


def test_entries_over_the_size_limit_are_rejected():
    found = read_all(h.imagefolder_zip(), limits=ArchiveLimits(max_entry_bytes=1024))
    assert found == {"cats/a.jpg": "too_large", "cats/b.png": "too_large", "dogs/c.jpg": "too_large",
                     "dogs/d.webp": h.good_webp()}  # 786 bytes
    (entry,) = [e for e in entries(h.imagefolder_zip(), limits=ArchiveLimits(max_entry_bytes=1024)).values()
                if e.name == "cats/b.png"]
    with pytest.raises(RejectedFile, match=r"^the file unpacks to 2.3 KB; the limit is 1 KB$"):
        entry.read()


def test_the_total_unpacked_size_is_capped_across_entries():
    sizes = [len(h.good_jpeg(seed=1)), len(h.good_png(seed=2)), len(h.good_jpeg(seed=3))]
    limit = sum(sizes[:2]) + 10
    got = []
    with pytest.raises(BadArchive) as caught:
        upload = io.BytesIO(h.imagefolder_zip())
        for entry in iter_archive(upload, limits=ArchiveLimits(max_total_bytes=limit)):
            got.append(len(entry.read()))
    assert got == sizes[:2]
    size = format_bytes(limit)
    assert caught.value.message == f"the archive unpacks to more than {size}; the limit is {size}"


def test_twenty_thousand_tiny_entries_are_counted_and_read_quickly():
    data = h.many_entries_zip(20_000)
    started = time.perf_counter()
    assert count_entries(io.BytesIO(data)) == 20_000
    seen = sum(entry.read() == b"x" for entry in iter_archive(io.BytesIO(data)))
    assert seen == 20_000
    # ~1-2.5 s here, with the machine's noise; reading entry by entry must stay linear (a quadratic
    # reader takes minutes for 20,000 entries), so the bound is loose enough never to trip on noise.
    assert time.perf_counter() - started < 15.0


def test_too_many_entries_is_one_clear_error():
    message = bad_archive(h.many_entries_zip(20_000), limits=ArchiveLimits(max_entries=10_000))
    assert message == "the archive has 20,000 entries; the limit is 10,000"


def test_too_many_entries_in_a_zip64_archive():
    data = h.many_entries_zip(70_000)  # over 65,535 entries: the counts live in the ZIP64 records
    assert bad_archive(data, limits=ArchiveLimits(max_entries=65_000)) == (
        "the archive has 70,000 entries; the limit is 65,000")


def test_a_huge_table_of_contents_is_not_parsed_in_full():
    message = bad_archive(h.many_entries_zip(20_000), limits=ArchiveLimits(max_entries=100))
    assert message == "the archive has more than 1,000 entries; the limit is 100"


def test_it_reads_entry_by_entry_from_a_file_on_disk(tmp_path):
    rng = random.Random(3)
    files = {f"c{i % 4}/{i}.bin": rng.randbytes(256 * 1024) for i in range(40)}  # 10 MiB, incompressible
    path = tmp_path / "upload.zip"
    path.write_bytes(h.zip_of(files, stored=True))
    tracemalloc.start()
    try:
        with path.open("rb") as f:
            got = {e.name: e.read() == files[e.name] for e in iter_archive(f)}
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert got == dict.fromkeys(files, True)
    assert peak < 3 * MiB  # one entry at a time, never the 10 MiB archive


def test_reading_after_the_file_is_closed_is_a_programming_error_not_a_corrupt_file():
    upload = io.BytesIO(h.imagefolder_zip())
    (first, *_) = [e for e in iter_archive(upload) if isinstance(e, ArchiveEntry)]
    upload.close()
    with pytest.raises(RuntimeError, match="needs the archive's file object open"):
        first.read()


def test_a_regular_file_with_unix_mode_bits_is_not_taken_for_a_symlink():
    mode = (stat.S_IFREG | 0o644) << 16
    regular = h.raw_zip([h.RawEntry("cats/a.png", b"x", zlib.crc32(b"x"), 1, method=zipfile.ZIP_STORED,
                                    external_attr=mode)])
    assert read_all(regular) == {"cats/a.png": b"x"}
