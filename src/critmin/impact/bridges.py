"""Bridges from critmin's chain stages and end-use sectors to input-output industries.

``data/bridges.csv``, one row per link, each with its basis and grade:

* ``role = supply``: the domestic industry that produces a stage (it gains or loses output
  and revenue when the stage's production or price moves; it also buys the previous stage's
  output, the chain's ``processing`` use);
* ``role = use``: an industry that buys the stage's output for an end-use ``sector``:
  ``use_share`` is its part of the sector's use (blank in every row of a sector: split by
  industry output), ``dependent_share`` the part of its output that cannot be made
  without the material in the short run (Leontief complementarity within that product line).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from critmin.errors import DataError
from critmin.impact.io_tables import DATA_DIR, IOTable, labels

BRIDGES_FILE = DATA_DIR / "bridges.csv"
GRADES = frozenset({"primary", "secondary", "assumption", "derived"})
SHARE_TOLERANCE = 1e-9


def _fail(path: Path, line: int, field: str, value: object, reason: str) -> DataError:
    return DataError(f"{path.name} line {line}: {field} = {value!r}: {reason}")


def validate(frame: pd.DataFrame, path: Path = BRIDGES_FILE) -> pd.DataFrame:
    """Check a bridges table: roles, grades, shares in [0, 1] summing to 1 per sector."""
    for k, row in enumerate(frame.itertuples(index=False), start=2):
        if row.role not in ("use", "supply"):
            raise _fail(path, k, "role", row.role, "must be use or supply")
        if row.grade not in GRADES:
            raise _fail(path, k, "grade", row.grade, f"must be one of {sorted(GRADES)}")
        if row.role == "use":
            if not row.sector:
                raise _fail(path, k, "sector", row.sector, "a use row names its sector")
            s = row.dependent_share
            if not (isinstance(s, float) and 0.0 < s <= 1.0):
                raise _fail(path, k, "dependent_share", s, "must lie in (0, 1]")
        if not str(row.basis).strip():
            raise _fail(path, k, "basis", row.basis, "every link states its basis")
    uses = frame[frame["role"] == "use"]
    for key, group in uses.groupby(["economy", "commodity", "stage", "sector"]):
        shares = group["use_share"]
        if shares.isna().all():
            continue
        if shares.isna().any() or abs(shares.sum() - 1.0) > SHARE_TOLERANCE:
            raise DataError(
                f"{path.name}: use_share of {'/'.join(map(str, key))} sums to "
                f"{shares.sum():g}; "
                "give every row a share summing to 1, or leave all blank (split by output)"
            )
    supplies = frame[frame["role"] == "supply"]
    duplicated = supplies.duplicated(["economy", "commodity", "stage"])
    if duplicated.any():
        first = supplies[duplicated].iloc[0]
        raise DataError(
            f"{path.name}: two supply industries for {first['commodity']}/{first['stage']}"
        )
    return frame


@cache
def bridges() -> pd.DataFrame:
    """The embedded bridges, validated (shared; do not mutate)."""
    frame = pd.read_csv(BRIDGES_FILE, dtype={"industry": str}, keep_default_na=False)
    for column in ("use_share", "dependent_share"):
        frame[column] = pd.to_numeric(frame[column].replace("", np.nan))
    return validate(frame)


def _detail_parents() -> tuple[dict[str, str], dict[str, float]]:
    """US detail industry -> summary industry, and its share of the summary's output."""
    from critmin.impact.io_tables import embedded_table

    codes = labels("us_bea_detail_2017")
    industries = codes[codes["role"] == "industry"]
    parent = dict(zip(industries["code"], industries["summary"], strict=True))
    detail = embedded_table("us_bea_detail_2017")
    output = pd.Series(detail.x, index=list(detail.industries))
    totals = output.groupby(output.index.map(parent)).transform("sum")
    shares = output / totals
    return parent, {str(c): float(v) for c, v in shares.items()}


def resolve(frame: pd.DataFrame, table: IOTable) -> pd.DataFrame:
    """Bridge rows of ``table``'s economy with their industry's position in ``table``
    (US detail codes map to their summary industry when the table is the summary one) and
    blank use shares filled by industry output."""
    rows = frame[frame["economy"] == table.economy].copy()
    known = set(table.industries)
    mapped = ~rows["industry"].isin(known)
    if mapped.any() and table.economy == "USA":
        # a detail code in the summary table: its summary industry, its dependent share
        # weighted by its part of the summary industry's output
        parent, weight = _detail_parents()
        codes = rows.loc[mapped, "industry"]
        rows.loc[mapped, "dependent_share"] *= codes.map(weight).fillna(1.0)
        rows.loc[mapped, "industry"] = codes.map(lambda c: parent.get(c, c))
    rows["position"] = table.index(list(rows["industry"]))
    blank = rows["role"].eq("use") & rows["use_share"].isna()
    if blank.any():
        output = pd.Series(table.x[rows.loc[blank, "position"]], index=rows.index[blank])
        keys = ["commodity", "stage", "sector"]
        total = output.groupby([rows.loc[blank, k] for k in keys]).transform("sum")
        rows.loc[blank, "use_share"] = output / total
    return rows
