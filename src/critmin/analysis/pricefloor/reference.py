"""Shipped reference cases of price floors, with their cited terms (``data/reference_cases.csv``).

``reference_case("dod_mp")``: the July 2025 US Department of Defense - MP Materials Price
Protection Agreement: US$110/kg NdPr floor for 10 years from Q4 2025 on volumes sold or
stockpiled, 30 % of the upside above the floor to DoD (8-K summary).
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

import pandas as pd

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


def term(name: str, field: str) -> str:
    """One field of a reference case as text."""
    frame = reference_case(name)
    return str(frame.loc[frame["field"] == field, "value"].iloc[0])
