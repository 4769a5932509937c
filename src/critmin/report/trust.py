"""How sure the report is of each figure: quality flags with their reasons, and confidence.

A figure carries a :class:`Flag` when it rests on a stated assumption, on a secondary or
derived figure, or on data of another year. Grades are those of the data schema
(``primary``, ``secondary``, ``derived``, ``assumption``; ``SCHEMA.md``): where the data give a
grade (a ``grade`` column beside the figures) it is used as given; where they do not yet,
the grade is read from the figure's stated basis (a source beginning "Assumption", a world
volume "derived" from the next stage, shares of another year); World Mining Data counts as
primary and any other cited share as ``ungraded`` (medium), never as better than it is.
A finding's confidence is high without flags, medium with secondary, derived or older data,
and low when it rests on an assumption.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pandas as pd

GRADES = ("primary", "secondary", "derived", "assumption")
OLDER = "other year"
UNGRADED = "ungraded"
GRADE_COLUMNS = ("grade", "production_grade", "share_grade")
_VINTAGE = re.compile(r"\((\d{4})\); volume:")


@dataclass(frozen=True)
class Flag:
    """A weakness of a figure: its grade (``assumption``, ``secondary``, ``derived``,
    ``other year``, or ``ungraded``: a cited figure whose grade the data do not give yet) and
    why, in words."""

    grade: str
    reason: str


def confidence(flags: Iterable[Flag]) -> str:
    """``high`` (no flag), ``medium`` (secondary, derived, ungraded or other-year data) or
    ``low`` (an assumption)."""
    grades = {f.grade for f in flags}
    if "assumption" in grades:
        return "low"
    return "medium" if grades else "high"


def _grade_column(output: pd.DataFrame) -> str | None:
    return next((c for c in GRADE_COLUMNS if c in output.columns), None)


def stage_flags(
    output: pd.DataFrame, year: int, least_share: float = 0.01
) -> dict[tuple[str, str], list[Flag]]:
    """Flags of each (commodity, stage) of a ``stage_output`` table for ``year``: the
    weakest grade among the countries with at least ``least_share`` of the stage, the
    basis of the world volume, and shares taken from another year."""
    flags: dict[tuple[str, str], list[Flag]] = {}
    column = _grade_column(output)
    for (commodity_id, stage_id), rows in output.groupby(["commodity", "stage"], sort=False):
        found: list[Flag] = []
        sources = [str(s) for s in rows["source"].dropna().unique()] if "source" in rows else []
        if column is not None:
            weighty = rows[rows["share"].fillna(0) >= least_share]
            grades = [str(g) for g in weighty[column].dropna().unique() if str(g) in GRADES]
            worst = max(grades, key=GRADES.index, default="primary")
            if worst != "primary":
                found.append(Flag(worst, f"{worst} figures: {'; '.join(sources)}"))
        else:
            for source in sources:
                share_basis, _, volume_basis = source.partition("; volume: ")
                if share_basis.lower().startswith("assumption"):
                    found.append(Flag("assumption", _vintage_free(share_basis)))
                elif not share_basis.startswith("World Mining Data"):
                    found.append(Flag(UNGRADED, f"shares from {_vintage_free(share_basis)}; "
                                      "its quality grade is not yet in the data"))  # fmt: skip
                if volume_basis.startswith("derived"):
                    found.append(Flag("derived", f"world output {volume_basis}"))
        for source in sources:
            match = _VINTAGE.search(source)
            if match is not None and int(match.group(1)) != year:
                found.append(
                    Flag(OLDER, f"shares of {match.group(1)}, the nearest year with a source")
                )
                break
        if found:
            flags[(str(commodity_id), str(stage_id))] = found
    return flags


def _vintage_free(text: str) -> str:
    """``Assumption: X (2024)`` -> ``X``."""
    text = re.sub(r"\s*\(\d{4}\)\s*$", "", text.strip())
    return re.sub(r"^assumption:\s*", "", text, flags=re.IGNORECASE)


def note_flags(notes: Sequence[str]) -> list[Flag]:
    """Flags of an engine's notes: every note that states an assumption."""
    return [Flag("assumption", note) for note in notes if "assumption" in note.lower()]
