"""The embedded tables against their sources: totals, shares and coverage."""

from __future__ import annotations

import pandas as pd
import pytest

from critmin.data import tables


def _production(commodity: str, year: int) -> pd.Series:
    prod = tables.production()
    rows = prod[(prod["commodity"] == commodity) & (prod["year"] == year)]
    return rows.set_index(rows["country"].astype(str))["value"]


def test_rare_earth_mine_production_2024_matches_world_mining_data() -> None:
    ree = _production("rare_earths", 2024)
    assert ree["CHN"] == 270_000
    assert ree["USA"] == pytest.approx(45_500, abs=100)
    assert ree.idxmax() == "CHN"
    # WMD's own total row (dropped at build time) was 398,008 t REO
    assert ree.sum() == pytest.approx(398_008, abs=1)


def test_rare_earth_china_agrees_with_usgs_mcs_2025() -> None:
    usgs = tables.curated("mine_production_ree")
    row = usgs[
        (usgs["country_iso3"] == "CHN")
        & (usgs["metric"] == "mine_production")
        & (usgs["year_num"] == 2024)
        & usgs["edition"].str.startswith("MCS 2025")
    ]
    assert float(row["value_num"].iloc[0]) == _production("rare_earths", 2024)["CHN"]


def test_gallium_china_share_agrees_with_usgs() -> None:
    ga = _production("gallium", 2024)
    assert ga["CHN"] / ga.sum() == pytest.approx(0.987, abs=0.01)


def test_japan_lng_imports_2024_from_baci() -> None:
    flows = tables.trade_year(2024)
    lng = flows[(flows["hs"] == 271111) & (flows["importer"] == "JPN")]
    by_origin = lng.groupby(lng["exporter"].astype(str))["quantity_t"].sum().sort_values()
    total = by_origin.sum()
    assert total == pytest.approx(65.9e6, rel=0.01)
    assert by_origin.idxmax() == "AUS"
    assert by_origin["AUS"] / total == pytest.approx(0.38, abs=0.01)
    assert by_origin["RUS"] / total == pytest.approx(0.086, abs=0.005)
    assert by_origin["USA"] / total == pytest.approx(0.094, abs=0.005)


def test_coverage_years_and_hs_codes() -> None:
    years = tables.trade_years()
    assert years[0] <= 2005
    assert years[-1] == 2024
    assert set(range(2005, 2025)) <= set(years)
    prod_years = set(tables.production()["year"].unique())
    assert prod_years == set(range(2018, 2025))
    assert tables.hs_codes()["hs"].nunique() >= 70
    assert tables.production()["commodity"].nunique() >= 60


def test_baci_codes_are_iso3_and_taiwan_is_named() -> None:
    flows = tables.trade_year(2024)
    assert "S19" not in set(flows["exporter"].astype(str))
    assert "TWN" in set(flows["exporter"].astype(str))
    # Belgium-Luxembourg (58) and Belgium (56) are one code after the build
    assert flows.duplicated(["exporter", "importer", "hs"]).sum() == 0


def test_governance_normalisation_is_geopolrisks() -> None:
    wgi = tables.governance()
    row = wgi[(wgi["country"] == "CHN") & (wgi["year"] == 2024)].iloc[0]
    assert row["normalized"] == pytest.approx((2.5 - row["estimate"]) / 5, abs=1e-6)
    assert wgi["normalized"].between(0, 1).all()
    assert {1996, 2024} <= set(wgi["year"])


def test_every_curated_row_keeps_its_source() -> None:
    for name in tables.CURATED_TABLES:
        table = tables.curated(name)
        found = table[table["confidence"] != "not_found"]
        assert found["source_url"].notna().all(), name
        assert found["source_title"].notna().all(), name


def test_manifest_lists_every_dataset_with_licence_and_checksums() -> None:
    manifest = tables.manifest()
    assert set(manifest["datasets"]) == {
        "production",
        "trade",
        "governance",
        "hs_codes",
        "commodities",
        "countries",
        "curated",
        "chains",
    }
    for name, entry in manifest["datasets"].items():
        for key in ("title", "publisher", "version", "licence", "url"):
            assert entry[key], (name, key)
        assert entry["inputs"], name
    assert set(manifest["datasets"]["curated"]["tables"]) == set(tables.CURATED_TABLES)
    assert set(manifest["datasets"]["chains"]["tables"]) == set(tables.CHAIN_TABLES)


def test_shipped_data_stays_small() -> None:
    from critmin.data.paths import EMBEDDED_DIR

    size = sum(p.stat().st_size for p in EMBEDDED_DIR.rglob("*") if p.is_file())
    assert size < 30 * 2**20
