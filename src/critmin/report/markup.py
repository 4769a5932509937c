"""HTML pieces of the report: tables in scroll containers, charts, quality flags, notes.

Every text is escaped here; a cell that is already HTML is wrapped in :class:`Html`.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import pandas as pd

from critmin.report import labels
from critmin.report.trust import Flag


class Html(str):
    """Text that is already HTML (not escaped again)."""

    __slots__ = ()


def esc(text: Any) -> str:
    return text if isinstance(text, Html) else html.escape(str(text), quote=True)


@dataclass(frozen=True)
class Col:
    """A table column: header (with unit), the cell of a row (text, or :class:`Html`),
    whether it holds words (left-aligned, wrapping) rather than a number, and whether those
    words are sentences (a wider column)."""

    header: str
    cell: Callable[[dict[str, Any]], str]
    words: bool = False
    long: bool = False  # sentences: a wider column, so rows stay short


def table(frame: pd.DataFrame, columns: Sequence[Col], caption: str = "") -> str:
    """A table in a horizontally scrolling container (no page overflow at any width)."""
    kinds = [("words long" if c.long else "words") if c.words else "num" for c in columns]
    head = "".join(
        f"<th scope='col' class='{k}'>{esc(c.header)}</th>"
        for c, k in zip(columns, kinds, strict=True)
    )
    body = []
    for record in frame.to_dict(orient="records"):
        row = {str(k): v for k, v in record.items()}
        cells = "".join(
            f"<td class='{k}'>{esc(c.cell(row))}</td>" for c, k in zip(columns, kinds, strict=True)
        )
        body.append(f"<tr>{cells}</tr>")
    if not body:
        body.append(f"<tr><td colspan='{len(columns)}' class='words'>{labels.NO_DATA}</td></tr>")
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return (
        f"<div class='table-wrap' tabindex='0'><table>{cap}<thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def _gaps(value: Any) -> Any:
    """The spec with every NaN (no data: a country without a price at a stage) as null,
    which Plotly draws as a gap."""
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dict):
        return {k: _gaps(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_gaps(v) for v in value]
    return value


def figure(div_id: str, spec: dict[str, Any], label: str) -> str:
    """A chart: its container, a print image filled in by the page's script, and its data."""
    payload = json.dumps(_gaps(spec), separators=(",", ":"), allow_nan=False).replace(
        "</", "<\\/"
    )
    height = int(spec["layout"]["height"])
    return (
        f"<figure class='chart' aria-label='{esc(label)}'>"
        f"<div id='{div_id}' class='plotly-graph-div' style='height:{height}px'></div>"
        f"<img id='{div_id}-print' class='print-only' alt='{esc(label)}'>"
        f"<script type='application/json' class='chart-data' data-for='{div_id}'>{payload}"
        "</script></figure>"
    )


def flag(item: Flag) -> str:
    """A visible flag: the grade as a badge, then the reason."""
    return (
        f"<span class='flag flag-{esc(item.grade.replace(' ', '-'))}'>{esc(item.grade)}</span> "
        f"{esc(item.reason)}"
    )


def flags(items: Iterable[Flag], title: str = "How sure these figures are") -> str:
    """A box listing the flags of a section (nothing when there are none)."""
    unique = list(dict.fromkeys(items))
    if not unique:
        return ""
    entries = "".join(f"<li>{flag(f)}</li>" for f in unique)
    return f"<div class='flags'><p class='flags-title'>{esc(title)}</p><ul>{entries}</ul></div>"


def flag_cell(items: Sequence[Flag], otherwise: str = "") -> Html:
    """Flags inside a table cell (``otherwise`` when there are none)."""
    if not items:
        return Html(esc(otherwise))
    return Html("<br>".join(flag(f) for f in dict.fromkeys(items)))


def not_computed(what: str, reason: str) -> str:
    reason = labels.words(reason)
    return (
        f"<div class='not-computed' role='note'><strong>{esc(what)}: not computed.</strong> "
        f"{esc(reason[:1].upper() + reason[1:])}</div>"
    )


def link(url: Any, text: str = "") -> Html:
    """A clickable source link showing its site (``www.iea.org``); ``no data`` without URL."""
    if labels.missing(url) or not str(url).startswith(("http://", "https://")):
        return Html(esc(labels.NO_DATA))
    shown = text or urlparse(str(url)).netloc or str(url)
    return Html(f"<a href='{esc(url)}' rel='noopener'>{esc(shown)}</a>")


def paragraph(text: str) -> str:
    return f"<p>{esc(text)}</p>"


def notes(items: Iterable[str], title: str) -> str:
    """The engine's own notes on its basis, collapsed under ``title``."""
    entries = "".join(f"<li>{esc(n)}</li>" for n in items)
    return f"<details class='notes'><summary>{esc(title)}</summary><ul>{entries}</ul></details>"
