"""Text that names a row: an id is ASCII digits from 1 to the largest whole number a database column holds.

"²".isdigit() is true, int("٣") is 3, and SQLite raises OverflowError past 2**63 - 1: every id read from a
URL, a query parameter or a model reference goes through here, so none of those reaches a query.
"""

from __future__ import annotations

MAX_ID = 2**63 - 1


def parse_id(text) -> int | None:
    """Return the id `text` spells, or None when it spells none."""
    text = str(text if text is not None else "")
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(MAX_ID)):
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ID else None
