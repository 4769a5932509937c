"""Shipped reference cases of price floors, with their cited terms (``data/reference_cases.csv``).

* ``dod_mp``: the July 2025 US Department of Defense - MP Materials Price Protection
  Agreement: US$110/kg NdPr floor for 10 years from Q4 2025 on volumes sold or stockpiled,
  30 % of the upside above the floor to DoD once full production is reached (8-K summary);
  volume from MP's Q3 2025 run rate to the NdPr its 10,000 t/yr of magnets need by 2028.
* ``jare_lynas``: Japan's JARE (JOGMEC + Sojitz) - Lynas supply agreement of March 2026:
  5,000 t/yr NdPr at a US$110/kg floor for 12 years, 30 % of the upside above US$150/kg to
  JARE, at most US$10 M a year.

Every term has a source, a grade (primary / secondary / derived) and a note.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import cache
from importlib.resources import files

import numpy as np
import pandas as pd

from critmin.analysis.pricefloor.history import UNITS
from critmin.analysis.pricefloor.terms import FloorTerms
from critmin.errors import InputError, unknown_value

NO_CASE = "none"
"""The case name for terms given in full by the user (no cited terms)."""


@cache
def _cases() -> pd.DataFrame:
    path = files("critmin.analysis.pricefloor") / "data" / "reference_cases.csv"
    with path.open("r", encoding="utf-8") as handle:
        return pd.read_csv(handle, dtype=str, keep_default_na=False)


def reference_case(name: str = "dod_mp") -> pd.DataFrame:
    """The cited terms of reference case ``name`` (field, value, unit, source_url ...)."""
    cases = _cases()
    if name not in set(cases["case"]):
        raise unknown_value("reference case", name, cases["case"])
    return cases[cases["case"] == name].drop(columns="case").reset_index(drop=True)


def reference_cases() -> list[str]:
    """Names of the shipped reference cases."""
    return sorted(set(_cases()["case"]))


def term(name: str, field: str) -> str:
    """One field of a reference case as text."""
    frame = reference_case(name)
    return str(frame.loc[frame["field"] == field, "value"].iloc[0])


def reference_terms(name: str = "dod_mp") -> FloorTerms:
    """The case's :class:`FloorTerms`: floor, term, volume by contract year (linear ramp from
    the first-year volume to the full volume, reached in ``full_production_year``) and the
    upside share from the contract year that starts in that year."""
    fields = reference_case(name).set_index("field")["value"]
    years = int(fields["years"])
    start_year = int(str(fields["start"])[:4])
    full_year = int(fields["full_production_year"])
    first, full = float(fields["volume_first_year_tpa"]), float(fields["volume_full_tpa"])
    calendar = start_year + np.arange(years)  # calendar year in which each contract year starts
    span = max(full_year - start_year, 1)
    ramp = np.clip((calendar - start_year) / span, 0.0, 1.0)
    volumes = tuple(float(v) for v in first + (full - first) * ramp)
    return FloorTerms(
        floor=float(fields["floor"]),
        years=years,
        volume_tpa=volumes,
        unit=UNITS[str(fields["commodity"])],
        upside_share=float(fields.get("upside_share", 0.0)),
        upside_strike=float(fields["upside_strike"]) if "upside_strike" in fields else None,
        upside_cap_usd=float(fields["upside_cap_usd"]) if "upside_cap_usd" in fields else None,
        upside_from_year=int(np.clip(full_year - start_year + 1, 1, years)),
    )


def case_terms(
    case: str = "dod_mp",
    *,
    commodity: str | None = None,
    floor: float | None = None,
    volume_tpa: float | None = None,
    years: int | None = None,
    upside_share: float | None = None,
    label: Callable[[str], str] = str,
) -> tuple[str, FloorTerms]:
    """The commodity and terms of reference case ``case`` with the user's overrides (a new
    term keeps the cited ramp and extends its last volume); ``case="none"`` needs ``floor``,
    ``volume_tpa`` and ``years``. ``label`` names a field in error messages (an option, a
    config key)."""
    for name, value in (("floor", floor), ("volume_tpa", volume_tpa)):
        if value is not None and not (value > 0 and np.isfinite(value)):
            raise InputError(f"{label(name)} {value}: must be > 0")
    if case == NO_CASE:
        given = (("floor", floor), ("volume_tpa", volume_tpa), ("years", years))
        missing = [label(n) for n, v in given if v is None]
        if missing:
            raise InputError(
                f"{label('case')} none: give {', '.join(missing)} (no cited terms to use)"
            )
        commodity = commodity or "ndpr_oxide"
        if commodity not in UNITS:
            raise InputError(
                f"{label('commodity')} {commodity!r}: valid values are {', '.join(UNITS)}"
            )
        terms = FloorTerms(float(floor or 0), int(years or 0), float(volume_tpa or 0),
                           unit=UNITS[commodity], upside_share=upside_share or 0.0)  # fmt: skip
        return commodity, terms
    if case not in reference_cases():
        raise InputError(
            f"{label('case')} {case!r}: valid values are "
            f"{', '.join(reference_cases())}, {NO_CASE}"
        )
    cited = term(case, "commodity")
    if commodity is not None and commodity != cited:
        raise InputError(
            f"{label('commodity')} {commodity!r}: case {case} covers {cited}; "
            f"use {label('case')} {NO_CASE}"
        )
    terms = reference_terms(case)
    update: dict[str, object] = {}
    if floor is not None:
        update["floor"] = floor
    if years is not None:
        update["years"] = years
        volumes = terms.volumes[:years] + (terms.volumes[-1],) * max(0, years - terms.years)
        update["volume_tpa"] = volumes
        update["upside_from_year"] = min(terms.upside_from_year, years)
    if volume_tpa is not None:
        update["volume_tpa"] = volume_tpa
    if upside_share is not None:
        update["upside_share"] = upside_share
    return cited, dataclasses.replace(terms, **update) if update else terms  # type: ignore[arg-type]
