"""Input-output tables: checksums, accounting identities, derivation and the user loader."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from critmin.errors import InputError
from critmin.impact.io_tables import (
    DATA_DIR,
    TABLES,
    embedded_table,
    identities,
    io_manifest,
    io_table,
    labels,
    load_io_file,
    raw_table,
    table_meta,
)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("table", TABLES)
def test_embedded_files_match_their_checksums(table: str) -> None:
    entry = io_manifest()["tables"][table]
    assert _sha256(DATA_DIR / entry["file"]) == entry["sha256"]
    assert len(raw_table(table)) == entry["rows"]
    assert _sha256(DATA_DIR / "io_labels.parquet") == io_manifest()["labels"]["sha256"]


@pytest.mark.parametrize("table", TABLES)
def test_every_table_states_source_year_licence_and_units(table: str) -> None:
    meta = table_meta(table)
    assert meta.publisher
    assert meta.url.startswith("https://")
    assert meta.licence
    assert meta.unit
    assert meta.usd_per_unit > 0
    assert 2010 <= meta.year <= 2025


@pytest.mark.parametrize("table", TABLES)
def test_identities_hold_to_the_rounding_of_the_published_cells(table: str) -> None:
    """Row sums (intermediate use + final demand = commodity output), column sums
    (intermediate inputs + value added = industry output) and the make table's sums."""
    meta = table_meta(table)
    residuals = identities(raw_table(table), meta.layout)
    expected = {"column", "row"} | (
        {"make_row", "make_column", "make_vs_use_output", "make_vs_use_commodity"}
        if meta.layout == "make_use"
        else set()
    )
    assert set(residuals["identity"]) == expected
    bound = meta.precision / 2 * residuals["cells"]
    assert (residuals["residual"].abs() <= bound).all()


def test_value_added_plus_intermediate_inputs_equals_output_in_the_2023_summary() -> None:
    raw = raw_table("us_bea_summary_2023")
    output = raw[raw["kind"] == "industry_output"].set_index("col")["value"]
    inputs = raw[raw["kind"].isin(["intermediate", "value_added"])].groupby("col")["value"].sum()
    assert (inputs.reindex(output.index) - output).abs().max() <= 5.0  # rounding, M USD
    # GDP by the value-added rows: the published total, 27,720,704 M USD (2023)
    assert raw[raw["kind"] == "value_added"]["value"].sum() == 27_720_704.0


@pytest.mark.parametrize("table", TABLES)
def test_derived_tables_are_productive_and_balanced(table: str) -> None:
    t = embedded_table(table)
    assert (t.Z >= 0).all()
    assert (t.x > 0).all()
    assert np.max(np.abs(np.linalg.eigvals(t.A))) < 1.0
    leontief = np.linalg.inv(np.eye(t.n) - t.A)
    assert leontief.min() >= -1e-12
    np.testing.assert_allclose(t.Z.sum(0) + t.imported + t.va + t.other, t.x, rtol=1e-12)
    meta = table_meta(table)
    raw = raw_table(table)
    va = raw[(raw["kind"] == "value_added") & ~raw["row"].isin(meta.gdp_excluded_value_added)]
    assert t.gdp == pytest.approx(va["value"].sum() * meta.usd_per_unit, rel=1e-12)


def test_japan_other_inputs_are_household_external_consumption_and_by_products() -> None:
    """``other`` = the ohcr row (outside GDP) minus the by-products recorded as negative
    inputs, which the domestic table sets to 0 (under 2 % of any industry's output; waste paper)."""
    t = embedded_table("jp_mic_2015_185")
    raw = raw_table("jp_mic_2015_185")
    ohcr = raw[(raw["kind"] == "value_added") & (raw["row"] == "ohcr")].set_index("col")
    expected = ohcr["value"].reindex(list(t.industries)).fillna(0.0) * t.meta["usd_per_unit"]
    by_products = t.other - expected.to_numpy()
    assert (by_products <= 1e-3).all()
    assert (by_products >= -0.02 * t.x).all()


def test_us_default_scales_detail_output_to_2023_by_summary_industry() -> None:
    scaled = io_table("USA")
    summary = embedded_table("us_bea_summary_2023")
    codes = labels("us_bea_detail_2017")
    parent = codes[codes["role"] == "industry"].set_index("code")["summary"]
    by_parent = pd.Series(scaled.x, index=list(scaled.industries)).groupby(parent).sum()
    target = pd.Series(summary.x, index=list(summary.industries))
    np.testing.assert_allclose(by_parent.reindex(target.index), target, rtol=1e-12)
    np.testing.assert_allclose(scaled.A, embedded_table("us_bea_detail_2017").A, atol=1e-15)
    assert scaled.output_year == 2023


def test_unknown_economy_points_to_the_loader() -> None:
    with pytest.raises(InputError, match=r"no embedded input-output table.*load_io_file"):
        io_table("DEU")


def _toy_rows() -> pd.DataFrame:
    """The three-industry toy economy of tests/test_impact_model.py as a symmetric table."""
    Z = np.array([[120.0, 240.0, 0.0], [360.0, 0.0, 120.0], [0.0, 120.0, 240.0]])  # noqa: N806
    x = np.array([1200.0, 2400.0, 1200.0])
    va = np.array([480.0, 1440.0, 720.0])
    codes = ["1", "2", "3"]
    rows = [("intermediate", codes[i], codes[j], Z[i, j]) for i in range(3) for j in range(3)]
    rows += [("value_added", "VA", codes[j], va[j]) for j in range(3)]
    imported = x - Z.sum(0) - va
    final = x - Z.sum(1)
    rows += [("value_added", "IMP", codes[j], imported[j]) for j in range(3)]
    rows += [("final_demand", codes[i], "F", final[i] + 10.0) for i in range(3)]
    rows += [("final_demand", codes[i], "M", -10.0) for i in range(3)]
    rows += [("final_demand", codes[i], "X", 0.0) for i in range(3)]
    rows += [("industry_output", "", codes[j], x[j]) for j in range(3)]
    rows += [("commodity_output", codes[i], "", x[i]) for i in range(3)]
    return pd.DataFrame(rows, columns=["kind", "row", "col", "value"])


def _toy_meta() -> dict[str, object]:
    return {
        "title": "toy",
        "economy": "USA",
        "year": 2020,
        "layout": "symmetric",
        "unit": "USD",
        "usd_per_unit": 1.0,
        "precision": 0.001,
        "import_final_demand": ["M"],
        "export_final_demand": ["X"],
        "gdp_excluded_value_added": ["IMP"],
        "publisher": "tests",
        "url": "https://example.org",
        "licence": "CC0",
    }


def test_user_table_loads_from_csv_with_its_yaml(tmp_path: Path) -> None:
    path = tmp_path / "toy.csv"
    _toy_rows().to_csv(path, index=False)
    (tmp_path / "toy.csv.yaml").write_text(yaml.safe_dump(_toy_meta()))
    table = load_io_file(path)
    assert table.industries == ("1", "2", "3")
    # imports 10 of domestic use (intermediate + final at home): 10/ (x - 0 exports + 10)
    share = 10.0 / (np.array([1200.0, 2400.0, 1200.0]) + 10.0)
    Z = np.array([[120.0, 240.0, 0.0], [360.0, 0.0, 120.0], [0.0, 120.0, 240.0]])  # noqa: N806
    np.testing.assert_allclose(table.Z, (1 - share)[:, None] * Z, rtol=1e-12)
    assert table.gdp == pytest.approx(2640.0, rel=1e-12)


def test_user_table_errors_name_the_problem(tmp_path: Path) -> None:
    path = tmp_path / "toy.csv"
    rows = _toy_rows()
    (tmp_path / "toy.csv.yaml").write_text(yaml.safe_dump(_toy_meta()))
    broken = rows.copy()
    broken.loc[(broken["row"] == "VA") & (broken["col"] == "2"), "value"] += 7.0
    broken.to_csv(path, index=False)
    with pytest.raises(InputError, match="column identity fails at 2 by 7 USD"):
        load_io_file(path)
    rows.assign(kind=rows["kind"].replace("make", "x")).rename(columns={"value": "v"}).to_csv(
        path, index=False
    )
    with pytest.raises(InputError, match="column 'value' is missing"):
        load_io_file(path)
    rows.replace({"kind": {"value_added": "wages"}}).to_csv(path, index=False)
    with pytest.raises(InputError, match="kind 'wages' is unknown"):
        load_io_file(path)
    rows.to_csv(path, index=False)
    meta = _toy_meta()
    meta["economy"] = "usa"
    (tmp_path / "toy.csv.yaml").write_text(yaml.safe_dump(meta))
    with pytest.raises(InputError, match=r"toy\.csv\.yaml: economy"):
        load_io_file(path)
