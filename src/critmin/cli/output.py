"""Render tables for the CLI as a Rich table, JSON or CSV."""

from __future__ import annotations

import json
import math
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

from critmin.errors import InputError

MAX_TABLE_ROWS = 200  # a terminal table longer than this is cut (JSON and CSV carry every row)
_MEASURE = Console(width=10_000)  # measures a table's narrowest rendering, not a terminal


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def _plain(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):
        return value.item()
    return None if value is pd.NA else value


def render(
    frame: pd.DataFrame,
    fmt: Format,
    title: str = "",
    meta: dict[str, Any] | None = None,
    table_columns: list[str] | None = None,
) -> None:
    """Print ``frame``: a Rich table, JSON ``{"meta": ..., "rows": [...]}`` or CSV.

    The table fits the terminal's width: ``table_columns`` narrows it to the columns worth
    showing (glob patterns allowed, e.g. ``share_*``), trailing columns that still do not fit
    are dropped and named, and at most :data:`MAX_TABLE_ROWS` rows are drawn. JSON and CSV
    always carry every row and column.
    """
    if fmt is Format.json:
        rows = [{k: _plain(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]
        payload = {"meta": {"title": title, **(meta or {})}, "rows": rows}
        sys.stdout.write(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
        return
    if fmt is Format.csv:
        sys.stdout.write(frame.to_csv(index=False, lineterminator="\n"))
        return
    columns = list(frame.columns)
    if table_columns is not None:
        keep = [c for c in frame.columns if any(fnmatch(str(c), p) for p in table_columns)]
        frame = frame[keep]
    count = len(frame)
    if count > MAX_TABLE_ROWS:
        frame = frame.head(MAX_TABLE_ROWS)
        meta = {
            **(meta or {}),
            "rows": f"the first {MAX_TABLE_ROWS:,} of {count:,} (--format csv or json for all)",
        }
    console = Console()  # the terminal's width (COLUMNS when set; 80 when not a terminal)
    table, shown = _fitted_table(frame, title, console.width)
    console.print(table)
    hidden = [str(c) for c in frame.columns[shown:]]
    if hidden or len(frame.columns) < len(columns):
        meta = {**(meta or {}), "more columns": "use --format json or csv for all"}
    if hidden:
        meta = {**(meta or {}), "not shown at this width": ", ".join(hidden)}
    for key, value in (meta or {}).items():
        console.print(f"[dim]{key}: {value}[/dim]", highlight=False)


def _table(frame: pd.DataFrame, title: str) -> Table:
    table = Table(title=title or None, show_lines=False)
    for column in frame.columns:
        numeric = pd.api.types.is_numeric_dtype(frame[column])
        table.add_column(str(column), justify="right" if numeric else "left", overflow="fold")
    for row in frame.itertuples(index=False):
        table.add_row(*[_cell(v) for v in row])
    return table


def _fitted_table(frame: pd.DataFrame, title: str, width: int) -> tuple[Table, int]:
    """The table of the leading columns that fit ``width`` characters (text columns wrap,
    numbers do not), and how many columns it shows; at least the first column."""

    def fits(count: int) -> bool:
        table = _table(frame.iloc[:, :count], title)
        return Measurement.get(_MEASURE, _MEASURE.options, table).minimum <= width

    low, high = 1, len(frame.columns)  # bisect: the most leading columns that fit
    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if fits(middle) else (low, middle - 1)
    return _table(frame.iloc[:, :low], title), low


def _cell(value: Any) -> str:
    value = _plain(value)
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


@contextmanager
def staged_folder(out: Path) -> Iterator[Path]:
    """A temporary folder beside ``out`` whose files move into ``out`` only on success.

    Readers never see a half-written results folder: files are written to the staging folder
    and moved into place (same file system) when the block finishes without an error.
    """
    out = out.resolve()
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out}: exists and is not a folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".critmin-", dir=out.parent))
    try:
        yield staging
        out.mkdir(exist_ok=True)
        for item in staging.iterdir():
            item.replace(out / item.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
