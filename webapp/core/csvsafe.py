"""Write CSV that a spreadsheet opens as text: no cell of ours runs as a formula (OWASP CSV injection)."""

import csv

# A spreadsheet treats a cell starting with one of these as a formula (tab and CR: Excel trims them first).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """Return `value` with a leading single quote when it is text a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class SafeWriter:
    """A csv.writer whose rows are made safe for spreadsheets first."""

    def __init__(self, file, **kwargs):
        self._writer = csv.writer(file, **kwargs)

    def writerow(self, row):
        return self._writer.writerow([safe_cell(cell) for cell in row])

    def writerows(self, rows):
        for row in rows:
            self.writerow(row)


class _Echo:
    """A file-like object whose write returns the line, so a writer can feed a streaming response."""

    def write(self, value):
        return value


def csv_writer(file, **kwargs) -> SafeWriter:
    """Return a spreadsheet-safe writer into `file`."""
    return SafeWriter(file, **kwargs)


def line_writer() -> SafeWriter:
    """Return a spreadsheet-safe writer whose writerow returns the CSV line instead of writing it."""
    return SafeWriter(_Echo())
