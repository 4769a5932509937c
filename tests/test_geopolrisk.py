"""GeoPolRisk against a brute-force loop over the raw tables (no reference package needed)."""

from __future__ import annotations

import pandas as pd
import pytest

from critmin.analysis.geopolrisk import (
    COPPER_CF_REFERENCE,
    MISSING_GOVERNANCE,
    geopolrisk,
    geopolrisk_hs,
)
from critmin.data import tables
from critmin.errors import InputError


def _brute_force(commodity: str, importer: str, year: int) -> dict[str, float]:
    hs = set(geopolrisk_hs().query("commodity == @commodity")["hs"])
    wgi = tables.governance()
    wgi = wgi[wgi["year"] == year].set_index("country")["normalized"].dropna()
    q_total = qg = value = 0.0
    for row in tables.trade_year(year).itertuples():
        if row.importer != importer or row.hs not in hs:
            continue
        q = 0.0 if pd.isna(row.quantity_t) else float(row.quantity_t)
        v = 0.0 if pd.isna(row.value_kusd) else float(row.value_kusd)
        q_total += q
        value += v
        qg += q * float(wgi.get(row.exporter, MISSING_GOVERNANCE))
    prod = tables.production()
    rows = prod[(prod["commodity"] == commodity) & (prod["year"] == year)]
    whole = [float(int(v)) for v in rows["value"]]
    hhi = sum(w * w for w in whole) / sum(whole) ** 2
    own = float(rows.loc[rows["country"] == importer, "value"].sum())
    ir = qg / (q_total + own)
    price = value / q_total
    return {"hhi": hhi, "import_risk": ir, "score": hhi * ir, "cf": hhi * ir * price / 0.409412948}


@pytest.mark.parametrize(("commodity", "importer"), [("cobalt", "JPN"), ("rare_earths", "USA")])
def test_matches_brute_force(commodity: str, importer: str) -> None:
    expected = _brute_force(commodity, importer, 2024)
    got = geopolrisk([commodity], [importer], [2024]).iloc[0]
    assert got["hhi"] == pytest.approx(expected["hhi"], rel=1e-12)
    assert got["import_risk"] == pytest.approx(expected["import_risk"], rel=1e-12)
    assert got["geopolrisk_score"] == pytest.approx(expected["score"], rel=1e-12)
    assert got["characterization_factor"] == pytest.approx(expected["cf"], rel=1e-12)
    assert COPPER_CF_REFERENCE == 0.409412948


def test_group_trade_inside_carries_no_risk() -> None:
    alone = geopolrisk(["cobalt"], ["USA", "JPN"], [2024]).set_index("importer")
    group = geopolrisk(["cobalt"], [], [2024], groups={"US-JP": ["USA", "JPN"]}).iloc[0]
    assert group["imports_t"] == pytest.approx(alone["imports_t"].sum())
    assert group["weighted_imports_t"] < alone["weighted_imports_t"].sum()  # US<->JP flows: 0
    assert group["production_t"] == pytest.approx(alone["production_t"].sum())


def test_governance_override_and_bounds() -> None:
    base = geopolrisk(["lithium"], ["JPN"], [2024]).iloc[0]
    worst = tables.governance().assign(normalized=1.0)
    capped = geopolrisk(["lithium"], ["JPN"], [2024], governance=worst).iloc[0]
    assert 0 <= base["import_risk"] <= capped["import_risk"] <= 1
    assert capped["import_risk"] == pytest.approx(
        capped["imports_t"] / (capped["imports_t"] + capped["production_t"])
    )


def test_unassessable_and_bad_input() -> None:
    with pytest.raises(InputError, match="gallium"):
        geopolrisk(["gallium"], ["JPN"], [2024])
    with pytest.raises(InputError, match="year 1990"):
        geopolrisk(["cobalt"], ["JPN"], [1990])
