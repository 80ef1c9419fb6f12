"""Reading a labels CSV: the layouts people write, and errors that point at the line to fix."""

import pytest

from webapp.datasets.csvlabels import CsvLabelError, canonical_split, parse_labels_csv


def error_of(text: str | bytes, **kwargs) -> str:
    data = text.encode("utf-8") if isinstance(text, str) else text
    with pytest.raises(CsvLabelError) as caught:
        parse_labels_csv(data, **kwargs)
    return caught.value.message


def test_it_reads_a_header_labels_and_splits():
    data = b"filename,label,split\ncats/a.png,cats,train\nb.png,dogs,val\nc.png,dogs,\n"
    assert parse_labels_csv(data) == {
        "cats/a.png": ("cats", "train"), "b.png": ("dogs", "val"), "c.png": ("dogs", None)}


def test_the_header_is_optional_and_the_split_column_too():
    expected = {"a.png": ("cats", None), "b.png": ("dogs", "test")}
    assert parse_labels_csv(b"a.png,cats\nb.png,dogs,test\n") == expected


def test_header_columns_may_come_in_any_order():
    data = b"Label,Split,File\ncats,training,a.png\n"
    assert parse_labels_csv(data) == {"a.png": ("cats", "train")}


def test_a_class_named_like_a_column_is_not_a_header():
    assert parse_labels_csv(b"a.png,image\n") == {"a.png": ("image", None)}


def test_it_reads_what_excel_writes():
    # "CSV UTF-8" starts with a byte-order mark; European locales separate with ';'; lines end in CRLF.
    data = "\ufefffilename;label\r\na.png;caf\u00e9\r\n\r\nb.png;\"dogs; big\"\r\n".encode()
    assert parse_labels_csv(data) == {"a.png": ("caf\u00e9", None), "b.png": ("dogs; big", None)}


def test_names_and_labels_are_nfc_normalised_and_trimmed():
    data = "  cafe\u0301/x.png , cafe\u0301 , Validation\n./y.png,dogs\n".encode()
    assert parse_labels_csv(data) == {"caf\u00e9/x.png": ("caf\u00e9", "val"), "y.png": ("dogs", None)}


def test_canonical_split_knows_the_usual_aliases():
    names = ("train", "Training", "VAL", "valid", "validation", "test", "testing", "tran", "")
    expected = ["train", "train", "val", "val", "val", "test", "test", None, None]
    assert [canonical_split(s) for s in names] == expected


@pytest.mark.parametrize(("text", "message"), [
    ("filename,label,split\n" + "".join(f"{i}.png,cats,train\n" for i in range(5)) + "x.png,cats,tran\n",
     "line 7: split must be train, val or test, not 'tran'"),
    ("a.png,cats\nb.png,dogs\na.png,dogs\n", "line 3: 'a.png' is listed twice (first on line 1)"),
    ("filename,label\na.png\n", "line 2: expected filename,label[,split] but found 1 column(s)"),
    ("a.png,cats,train,extra\n", "line 1: expected filename,label[,split] but found 4 columns"),
    ("a.png,   \n", "line 1: the label for 'a.png' is empty"),
    ("a.png," + "x" * 201 + "\n", "line 1: the label is longer than 200 characters"),
    (" ,cats\n", "line 1: the filename is empty"),
    ("a.png,cats\ncats\\b.png,cats\n", "line 2: use / between folders in 'cats\\b.png', not \\"),
    ("../b.png,cats\n", "line 1: '../b.png' must be a path inside the archive, relative to the CSV"),
    ("/b.png,cats\n", "line 1: '/b.png' must be a path inside the archive, relative to the CSV"),
    ("filename,colour\na.png,red\n", "line 1: unknown column 'colour'; use filename, label, split"),
    ("filename,split\na.png,train\n", "line 1: the header has no label column"),
    ('a.png,cats\nb.png,"dogs\n', "line 2: the CSV is malformed (unexpected end of data)"),
    ("\n\n", "the labels file has no rows: write one 'filename,label[,split]' per image"),
    ("filename,label\n", "the labels file has no rows: write one 'filename,label[,split]' per image"),
])
def test_each_mistake_is_named_with_its_line(text, message):
    assert error_of(text) == message


def test_a_file_that_is_not_utf8_names_the_line():
    data = "a.png,cats\nb.png,caf\u00e9\n".encode("latin-1")
    assert error_of(data) == "line 2: the file is not UTF-8 text; save it as 'CSV UTF-8'"


def test_the_size_is_capped():
    assert error_of(b"a.png,cats\n" * 10, max_bytes=100) == "the labels file is 110 bytes; the limit is 100"


def test_a_hundred_thousand_rows_parse():
    data = "".join(f"c{i % 7}/{i}.jpg,c{i % 7},{('train', 'val', 'test')[i % 3]}\n" for i in range(100_000))
    labels = parse_labels_csv(data.encode())
    assert len(labels) == 100_000
    assert labels["c4/99999.jpg"] == ("c4", "train")
