"""Read an uploaded ZIP one entry at a time: never extracted wholesale, never held in memory whole.

Pure Python (no Django). Entries whose paths could escape a folder are refused, never rewritten
(`extractall` turns `cats/../../x.png` into `cats/x.png`: a wrong label). Every limit applies to
the bytes actually decompressed, whatever the headers claim.

Labels come from folders: an image's label is its innermost folder (`a/b/cats/x.png` -> 'cats'), so a
wrapping folder, as macOS and Windows add when they compress a folder, changes nothing. Its split is
the nearest folder above that one named train, val or test (or training, valid, validation, testing);
an image directly inside such a folder (`train/x.png`) has that split and no label. With a labels.csv
(`labels=` from `parse_labels_csv`), labels and splits come from the CSV only.

Use (BadArchive comes from the first step of iteration, or from read() once the archive's total is
spent; RejectedFile from read() for one entry, after which the import goes on):

    raw = read_labels_csv(f)                      # None unless layout_of(...) == 'csv'
    labels = parse_labels_csv(raw) if raw else None
    total = count_entries(f)
    for item in iter_archive(f, labels=labels):   # ArchiveEntry | SkippedEntry
        data = item.read()                        # then check_image(data)
"""

from __future__ import annotations

import io
import re
import stat
import struct
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import BinaryIO

from webapp.datasets.csvlabels import MAX_LABEL_CHARS, canonical_split
from webapp.datasets.validation import RejectedFile, format_bytes

MiB = 1024**2
GiB = 1024**3
_CHUNK = MiB
_MAX_NAME_CHARS = 500  # Image.original_name holds 500
_READABLE_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "Deflate"}
_METHOD_NAMES = {zipfile.ZIP_BZIP2: "BZIP2", zipfile.ZIP_LZMA: "LZMA", 9: "Deflate64", 93: "Zstandard"}
_ARCHIVE_SUFFIXES = (".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".zst", ".7z", ".rar", ".cab")
_WINDOWS_JUNK = {"thumbs.db", "desktop.ini"}
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")
LABELS_CSV = "labels.csv"

# What a non-ZIP upload is, by how it starts.
_OTHER_ARCHIVES = {b"Rar!": "a RAR archive", b"7z\xbc\xaf": "a 7-Zip archive", b"\x1f\x8b": "a gzip file"}


@dataclass(frozen=True, kw_only=True)
class ArchiveLimits:
    max_entries: int = 100_000
    max_entry_bytes: int = 50 * MiB
    max_total_bytes: int = 4 * GiB
    max_ratio: int = 200  # compression ratio above which an entry is a zip bomb...
    ratio_free_bytes: int = MiB  # ...once past this size: a blank 1 MB BMP legitimately packs 500:1
    max_depth: int = 10  # folders in one path


class BadArchive(Exception):
    """The upload as a whole cannot be read; `message` says why, for a person."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass
class SkippedEntry:
    name: str
    reason: str  # silent: 'directory', 'junk', 'labels_file'; else 'unsafe_path', 'symlink', ...
    message: str
    silent: bool


@dataclass
class ArchiveEntry:
    """A file to check; read() works while the archive's file object stays open."""

    name: str  # the path in the ZIP, for display only: never build a storage path from it
    label: str | None
    split: str | None  # 'train', 'val', 'test' or None
    size: int  # as the headers claim; read() does not trust it
    _reader: Callable[[], bytes] = field(repr=False, compare=False)

    def read(self) -> bytes:
        """Return the entry's bytes or raise RejectedFile (BadArchive once the whole archive is too big)."""
        return self._reader()


def iter_archive(
    fileobj: BinaryIO,
    *,
    limits: ArchiveLimits = ArchiveLimits(),
    labels: Mapping[str, tuple[str, str | None]] | None = None,
) -> Iterator[ArchiveEntry | SkippedEntry]:
    """Yield every entry in archive order: files to check, and the entries skipped with why."""
    # Not closed here: entries read through it after iteration, and closing a ZipFile made from a
    # file object never closes that file object anyway.
    zf = _open_zip(fileobj, limits)
    infos = zf.infolist()
    csv_name = labels_csv_name(i.orig_filename for i in infos)
    csv_folder = csv_name.rpartition("/")[0] + "/" if csv_name and "/" in csv_name else ""
    budget = _Budget(limits.max_total_bytes)
    for info in infos:
        skipped = _skip(info, limits, csv_name)
        if skipped:
            yield skipped
            continue
        if labels is None:
            label, split = _folder_label(info.filename)
        else:
            label, split = labels.get(_nfc(info.filename.removeprefix(csv_folder)), (None, None))
        if label and len(label) > MAX_LABEL_CHARS:
            yield SkippedEntry(info.filename, "label_too_long",
                               f"the class folder's name is longer than {MAX_LABEL_CHARS} characters", silent=False)
            continue
        yield ArchiveEntry(name=info.filename, label=label, split=split, size=info.file_size,
                           _reader=partial(_read_entry, zf, info, limits, budget))


def count_entries(fileobj: BinaryIO, *, limits: ArchiveLimits = ArchiveLimits()) -> int:
    """Return how many ArchiveEntry items iter_archive will yield (reads the table of contents only)."""
    return sum(isinstance(item, ArchiveEntry) for item in iter_archive(fileobj, limits=limits))


def archive_layout(fileobj: BinaryIO, *, limits: ArchiveLimits = ArchiveLimits()) -> str:
    """Return layout_of() the archive's entry names."""
    with _open_zip(fileobj, limits) as zf:
        return layout_of(i.orig_filename for i in zf.infolist())


def read_labels_csv(fileobj: BinaryIO, *, limits: ArchiveLimits = ArchiveLimits()) -> bytes | None:
    """Return the bytes of the archive's labels.csv, or None when it has none."""
    with _open_zip(fileobj, limits) as zf:
        name = labels_csv_name(i.orig_filename for i in zf.infolist())
        if name is None:
            return None
        return _read_entry(zf, zf.getinfo(name), limits, _Budget(limits.max_total_bytes))


def layout_of(names: Iterable[str]) -> str:
    """Return 'csv', 'split_imagefolder', 'imagefolder' or 'flat' (no folders: unlabelled)."""
    files = _plain_files(names)
    if labels_csv_name(files):
        return "csv"
    found = [_folder_label(n) for n in files]
    if any(split for _, split in found):
        return "split_imagefolder"
    if any(label for label, _ in found):
        return "imagefolder"
    return "flat"


def labels_csv_name(names: Iterable[str]) -> str | None:
    """Return the path of the labels.csv: at the root, or in a single folder that holds everything."""
    files = [n for n in names if not n.endswith("/") and _junk(n) is None]
    found = [n for n in files if n.rpartition("/")[2].lower() == LABELS_CSV and _is_safe(n)]
    at_root = [n for n in found if "/" not in n]
    if at_root:
        return at_root[0]
    tops = {n.partition("/")[0] for n in files}
    if len(tops) == 1 and all("/" in n for n in files):
        wanted = f"{tops.pop()}/{LABELS_CSV}".lower()
        return next((n for n in found if n.lower() == wanted), None)
    return None


# ---------------------------------------------------------------- opening


def _open_zip(fileobj: BinaryIO, limits: ArchiveLimits) -> zipfile.ZipFile:
    entries = _count_central_directory(fileobj, stop_after=10 * limits.max_entries)
    if entries > 10 * limits.max_entries:
        raise BadArchive(f"the archive has more than {10 * limits.max_entries:,} entries; "
                         f"the limit is {limits.max_entries:,}")
    if entries > limits.max_entries:
        raise BadArchive(f"the archive has {entries:,} entries; the limit is {limits.max_entries:,}")
    try:
        return zipfile.ZipFile(fileobj)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, struct.error, NotImplementedError):
        raise BadArchive("the ZIP archive is damaged: its table of contents cannot be read")


def _count_central_directory(fp: BinaryIO, *, stop_after: int) -> int:
    """Return how many entries the table of contents holds, reading only their 46-byte headers."""
    # zipfile builds an object per entry before we could count them; a forged table could list millions.
    fp.seek(0, io.SEEK_END)
    size = fp.tell()
    fp.seek(0)
    head = fp.read(4)
    tail_len = min(size, 22 + 65535)  # the end record, with at most a 64 KB comment
    fp.seek(size - tail_len)
    tail = fp.read(tail_len)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        raise _not_a_zip(head, size)
    disk, cd_disk, _, _, cd_size, _, _ = struct.unpack("<HHHHIIH", tail[at + 4:at + 22])
    end = size - tail_len + at
    if disk or cd_disk:
        raise BadArchive("the ZIP archive is split into parts: join them into one file and upload that")
    fp.seek(max(end - 20, 0))
    if end >= 20 + 56 and fp.read(4) == b"PK\x06\x07":  # ZIP64 locator: the real sizes are in the record before it
        end -= 20 + 56
        fp.seek(end)
        record = fp.read(56)
        if len(record) < 56 or record[:4] != b"PK\x06\x06":
            raise _damaged()
        cd_size = struct.unpack("<Q", record[40:48])[0]
    pos = end - cd_size
    if pos < 0:
        raise _damaged()
    fp.seek(pos)
    count = 0
    while pos < end and count <= stop_after:
        header = fp.read(46)
        if len(header) < 46 or header[:4] != b"PK\x01\x02":
            raise _damaged()
        name_len, extra_len, comment_len = struct.unpack("<HHH", header[28:34])
        fp.seek(name_len + extra_len + comment_len, io.SEEK_CUR)
        pos += 46 + name_len + extra_len + comment_len
        count += 1
    return count


def _not_a_zip(head: bytes, size: int) -> BadArchive:
    if size == 0:
        return BadArchive("this file is not a ZIP archive: it is empty")
    if head.startswith(b"PK"):
        return BadArchive("the ZIP archive is damaged: its end is missing (was the upload cut short?)")
    kind = next((what for magic, what in _OTHER_ARCHIVES.items() if head.startswith(magic)), None)
    return BadArchive(f"this file is not a ZIP archive: it looks like {kind}" if kind else
                      "this file is not a ZIP archive")


def _damaged() -> BadArchive:
    return BadArchive("the ZIP archive is damaged: its table of contents cannot be read")


# ---------------------------------------------------------------- which entries are files to check


def _skip(info: zipfile.ZipInfo, limits: ArchiveLimits, csv_name: str | None) -> SkippedEntry | None:
    """Return why this entry is not a file to check, or None when it is."""
    name = info.orig_filename.replace("\0", "\\0")
    if info.orig_filename.endswith("/"):
        return SkippedEntry(name, "directory", "folder", silent=True)
    problem = _path_problem(info.orig_filename, limits.max_depth)
    if problem:
        return SkippedEntry(name, "unsafe_path", problem, silent=False)
    if stat.S_ISLNK(info.external_attr >> 16):
        return SkippedEntry(name, "symlink", "symbolic links are not followed", silent=False)
    junk = _junk(info.orig_filename)
    if junk:
        return SkippedEntry(name, "junk", junk, silent=True)
    if info.orig_filename == csv_name:
        return SkippedEntry(name, "labels_file", "the labels file, read separately", silent=True)
    if name.lower().endswith(_ARCHIVE_SUFFIXES):
        return SkippedEntry(name, "nested_archive",
                            "archives inside the archive are not opened: unpack it and add its files",
                            silent=False)
    if info.flag_bits & 0x1:
        return SkippedEntry(name, "encrypted", "the file is password-protected", silent=False)
    if info.compress_type not in _READABLE_METHODS:
        method = _METHOD_NAMES.get(info.compress_type, f"method {info.compress_type}")
        return SkippedEntry(name, "unsupported_compression",
                            f"the file is compressed with {method}: make the ZIP with standard compression",
                            silent=False)
    return None


def _path_problem(path: str, max_depth: int) -> str | None:
    """Return what makes `path` unsafe to take at its word, or None."""
    if _CONTROL_CHARS.search(path):
        return "the path contains control characters"
    if len(path) > _MAX_NAME_CHARS:
        return f"the path is longer than {_MAX_NAME_CHARS:,} characters"
    if "\\" in path:
        return "the path uses backslashes (\\); paths in a ZIP use /"
    if path.startswith("/"):
        return "the path is absolute (it starts with /)"
    if len(path) >= 2 and path[1] == ":" and path[0].isascii() and path[0].isalpha():
        return "the path starts with a drive letter"
    parts = path.rstrip("/").split("/")
    if ".." in parts:
        return "the path climbs out of its folder (..)"
    if any(part in ("", ".") for part in parts):
        return "the path has an empty or '.' folder"
    if len(parts) - 1 > max_depth:
        return f"the path is {len(parts) - 1} folders deep; the limit is {max_depth}"
    return None


def _junk(path: str) -> str | None:
    """Return what kind of system clutter `path` is, or None (such entries are skipped silently)."""
    parts = path.split("/")
    if parts[0] == "__MACOSX":
        return "macOS metadata"
    if any(part.startswith(".") for part in parts):
        return "hidden file"
    if parts[-1].lower() in _WINDOWS_JUNK:
        return "Windows metadata"
    return None


def _is_safe(path: str) -> bool:
    return _path_problem(path, max_depth=10**6) is None


def _plain_files(names: Iterable[str]) -> list[str]:
    """Return the names that are safe, non-junk files (not folders)."""
    return [n for n in names if not n.endswith("/") and _is_safe(n) and _junk(n) is None]


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _folder_label(path: str) -> tuple[str | None, str | None]:
    """Return (label, split) from the folders of `path` (see the module docstring)."""
    folders = path.split("/")[:-1]
    if not folders:
        return None, None
    innermost = folders[-1]
    if canonical_split(innermost):
        return None, canonical_split(innermost)
    label = _nfc(innermost).strip() or None
    split = next((s for f in reversed(folders[:-1]) if (s := canonical_split(f))), None)
    return label, split


# ---------------------------------------------------------------- reading, with every limit on actual bytes


class _Budget:
    """The bytes the whole archive may still unpack to."""

    def __init__(self, limit: int):
        self.limit = limit
        self.spent = 0

    def spend(self, n: int) -> None:
        self.spent += n
        if self.spent > self.limit:
            size = format_bytes(self.limit)
            raise BadArchive(f"the archive unpacks to more than {size}; the limit is {size}")


def _is_bomb(unpacked: int, packed: int, limits: ArchiveLimits) -> bool:
    return unpacked > limits.ratio_free_bytes and unpacked > limits.max_ratio * max(packed, 1)


def _read_entry(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limits: ArchiveLimits, budget: _Budget) -> bytes:
    # The headers' claims are checked first because it is free; the same limits are then applied to
    # what is really decompressed, chunk by chunk, so a lying header gains nothing.
    if _is_bomb(info.file_size, info.compress_size, limits):
        raise _bomb(f"would unpack from {format_bytes(info.compress_size)} to {format_bytes(info.file_size)}")
    if info.file_size > limits.max_entry_bytes:
        raise RejectedFile("too_large", f"the file unpacks to {format_bytes(info.file_size)}; "
                                        f"the limit is {format_bytes(limits.max_entry_bytes)}")
    if zf.fp is None or getattr(zf.fp, "closed", False):
        raise RuntimeError("ArchiveEntry.read() needs the archive's file object open")
    parts, total = [], 0
    try:
        with zf.open(info) as stream:
            while chunk := stream.read(_CHUNK):
                total += len(chunk)
                budget.spend(len(chunk))
                if _is_bomb(total, info.compress_size, limits):
                    raise _bomb(f"unpacks to more than {limits.max_ratio} times its compressed size")
                if total > limits.max_entry_bytes:
                    limit = format_bytes(limits.max_entry_bytes)
                    raise RejectedFile("too_large", f"the file unpacks to more than {limit}, the limit")
                parts.append(chunk)
    except zipfile.BadZipFile as e:
        detail = "its checksum does not match" if "CRC" in str(e) else "its headers do not agree"
        raise RejectedFile("corrupt", f"the file is damaged inside the ZIP: {detail}")
    except (zlib.error, EOFError, OSError, ValueError, struct.error, NotImplementedError, RuntimeError):
        raise RejectedFile("corrupt", "the file is damaged inside the ZIP: its compressed data is invalid")
    return b"".join(parts)


def _bomb(what: str) -> RejectedFile:
    return RejectedFile("zip_bomb", f"the file {what}: this looks like a zip bomb, so it was not unpacked")
