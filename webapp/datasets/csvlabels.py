"""Parse a labels CSV (`filename,label[,split]`) into labels, with errors that name the line.

Pure Python (no Django). Filenames are paths as in the ZIP, relative to the CSV's folder, compared
after Unicode NFC normalisation (macOS writes decomposed names into ZIPs).
"""

from __future__ import annotations

import csv
import io
import unicodedata

MAX_CSV_BYTES = 16 * 1024 * 1024
MAX_LABEL_CHARS = 200  # Class.name holds 200

_SPLITS = {
    "train": "train", "training": "train",
    "val": "val", "valid": "val", "validation": "val",
    "test": "test", "testing": "test",
}
_HEADER_NAMES = {
    "filename": "filename", "file": "filename", "path": "filename", "image": "filename", "name": "filename",
    "label": "label", "class": "label", "category": "label",
    "split": "split", "subset": "split",
}
_DELIMITERS = (",", ";", "\t")  # Excel writes ';' where the decimal mark is a comma


class CsvLabelError(Exception):
    """The labels file cannot be used; `message` says where and why, for a person."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def canonical_split(name: str) -> str | None:
    """Return 'train', 'val' or 'test' for a split name or common alias ('Validation'), else None."""
    return _SPLITS.get(name.strip().lower())


def parse_labels_csv(data: bytes, *, max_bytes: int = MAX_CSV_BYTES) -> dict[str, tuple[str, str | None]]:
    """Return {filename: (label, split or None)}, or raise CsvLabelError naming the first bad line."""
    if len(data) > max_bytes:
        raise CsvLabelError(f"the labels file is {len(data):,} bytes; the limit is {max_bytes:,}")
    text = _decode(data)
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text), strict=True)
    columns = {"filename": 0, "label": 1, "split": 2}  # until a header says otherwise
    labels: dict[str, tuple[str, str | None]] = {}
    first_line: dict[str, int] = {}
    started = False
    try:
        for row in rows:
            line = rows.line_num
            if not any(cell.strip() for cell in row):
                continue
            if not started and _is_header(row):
                columns = _header_columns(row, line)
                started = True
                continue
            started = True
            filename, label, split = _fields(row, columns, line)
            if filename in first_line:
                first = first_line[filename]
                raise CsvLabelError(f"line {line}: '{filename}' is listed twice (first on line {first})")
            first_line[filename] = line
            labels[filename] = (label, split)
    except csv.Error as e:
        raise CsvLabelError(f"line {rows.line_num}: the CSV is malformed ({e})")
    if not labels:
        raise CsvLabelError("the labels file has no rows: write one 'filename,label[,split]' per image")
    return labels


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")  # Excel's "CSV UTF-8" starts with a byte-order mark
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise CsvLabelError(f"line {line}: the file is not UTF-8 text; save it as 'CSV UTF-8'")


def _delimiter(text: str) -> str:
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    return max(_DELIMITERS, key=first.count) if any(d in first for d in _DELIMITERS) else ","


def _is_header(row: list[str]) -> bool:
    """Return whether `row` names columns: it starts with 'filename' or names two known columns."""
    known = [_HEADER_NAMES.get(cell.strip().lower()) for cell in row]
    return known[0] == "filename" or sum(k is not None for k in known) >= 2


def _header_columns(row: list[str], line: int) -> dict[str, int]:
    columns: dict[str, int] = {}
    for index, cell in enumerate(row):
        key = _HEADER_NAMES.get(cell.strip().lower())
        if key is None and cell.strip():
            raise CsvLabelError(f"line {line}: unknown column '{cell.strip()}'; use filename, label, split")
        if key:
            columns[key] = index
    if "label" not in columns:
        raise CsvLabelError(f"line {line}: the header has no label column")
    return columns


def _fields(row: list[str], columns: dict[str, int], line: int) -> tuple[str, str, str | None]:
    needed = max(columns["filename"], columns["label"]) + 1
    if len(row) < needed:
        raise CsvLabelError(f"line {line}: expected filename,label[,split] but found {len(row)} column(s)")
    if len(row) > max(columns.values()) + 1 and any(cell.strip() for cell in row[max(columns.values()) + 1:]):
        raise CsvLabelError(f"line {line}: expected filename,label[,split] but found {len(row)} columns")
    filename = _filename(row[columns["filename"]], line)
    label = unicodedata.normalize("NFC", row[columns["label"]]).strip()
    if not label:
        raise CsvLabelError(f"line {line}: the label for '{filename}' is empty")
    if len(label) > MAX_LABEL_CHARS:
        raise CsvLabelError(f"line {line}: the label is longer than {MAX_LABEL_CHARS} characters")
    raw_split = row[columns["split"]].strip() if "split" in columns and len(row) > columns["split"] else ""
    split = canonical_split(raw_split) if raw_split else None
    if raw_split and split is None:
        raise CsvLabelError(f"line {line}: split must be train, val or test, not '{raw_split}'")
    return filename, label, split


def _filename(cell: str, line: int) -> str:
    name = unicodedata.normalize("NFC", cell.strip())
    name = name.removeprefix("./")
    if not name:
        raise CsvLabelError(f"line {line}: the filename is empty")
    if "\\" in name:
        raise CsvLabelError(f"line {line}: use / between folders in '{name}', not \\")
    if name.startswith("/") or ".." in name.split("/"):
        raise CsvLabelError(f"line {line}: '{name}' must be a path inside the archive, relative to the CSV")
    return name
