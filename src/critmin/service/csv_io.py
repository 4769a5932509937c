"""CSV export and import of records, safe to open in a spreadsheet.

A cell that a spreadsheet would run as a formula (starting with ``= + - @``, a tab or a
carriage return) is written with a leading apostrophe, which spreadsheets show as text.
The escaping is reversible: a cell that itself starts with an apostrophe followed by one of
those characters or another apostrophe gets one more, and the import removes exactly one,
so export -> import gives back the same values. Uploads may use LF, CRLF or bare CR line
ends; a malformed file is a 422 naming the row.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

FORMULA_START = frozenset("=+-@\t\r")


def _needs_escape(value: str) -> bool:
    return value[:1] in FORMULA_START or (
        value[:1] == "'" and (value[1:2] in FORMULA_START or value[1:2] == "'")
    )


def escape_cell(value: str) -> str:
    """``value`` as written to a CSV cell (formula-looking text made inert)."""
    return "'" + value if _needs_escape(value) else value


def unescape_cell(value: str) -> str:
    """The value :func:`escape_cell` wrote ``value`` for."""
    return value[1:] if value[:1] == "'" and _needs_escape(value[1:]) else value


def to_csv(rows: list[dict[str, Any]], columns: list[str]) -> str:
    """``rows`` as CSV text with a header; text cells escaped, None as an empty cell."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        cells = {}
        for key in columns:
            value = row.get(key)
            cells[key] = (
                "" if value is None else (escape_cell(value) if isinstance(value, str) else value)
            )
        writer.writerow(cells)
    return out.getvalue()


class CsvError(ValueError):
    """A CSV upload that cannot be read: ``row`` (1 = first after the header) and why."""

    def __init__(self, row: int, reason: str) -> None:
        super().__init__(reason)
        self.row = row
        self.reason = reason


def read_csv(text: str, max_rows: int) -> Iterator[tuple[int, dict[str, str]]]:
    """(row number, non-empty cells unescaped) for each data row of a CSV upload."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    number = 0
    try:
        if reader.fieldnames is None:
            raise CsvError(0, "the CSV is empty: it needs a header row")
        for number, row in enumerate(reader, start=1):
            if number > max_rows:
                raise CsvError(number, f"more than {max_rows} rows")
            yield (
                number,
                {
                    str(key): unescape_cell(value)
                    for key, value in row.items()
                    if isinstance(value, str) and value != "" and key is not None
                },
            )
    except csv.Error as exc:
        raise CsvError(number + 1, f"malformed CSV ({exc})") from None
