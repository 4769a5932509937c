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

from functools import cache
from importlib.resources import files

import numpy as np
import pandas as pd

from critmin.analysis.pricefloor.history import UNITS
from critmin.analysis.pricefloor.terms import FloorTerms
from critmin.errors import unknown_value


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
