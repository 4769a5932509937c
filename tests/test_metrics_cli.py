"""`critmin metrics`, `critmin geopolrisk` and `critmin gaps`: stable JSON keys, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from critmin.cli.app import app

runner = CliRunner()


def _json(*args: str) -> dict[str, object]:
    result = runner.invoke(app, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    payload: dict[str, object] = json.loads(result.output)
    return payload


def test_metrics_json_keys() -> None:
    payload = _json("metrics", "-c", "rare_earths", "-s", "separation", "-y", "2024", "-i", "USA")
    (row,) = payload["rows"]  # type: ignore[misc]
    for key in ("hhi", "top3_share", "shares", "n_minus_1_residual", "import_reliance", "note"):
        assert key in row
    for key in ("grades", "sources", "figure_year"):
        assert row[key]
    net = row["imports"] - row["exports"]
    assert row["import_reliance"] == pytest.approx(net / row["apparent_consumption"])
    assert row["apparent_consumption"] == pytest.approx(4_300 + net)  # USGS US output 2024
    assert sum(row["suppliers"].values()) == pytest.approx(1.0, abs=1e-5)
    assert row["top_supplier"] == max(row["suppliers"], key=row["suppliers"].get)
    assert 0 < row["supplier_hhi"] <= 10_000


def test_metrics_mining_hhi() -> None:
    payload = _json("metrics", "-c", "rare_earths", "-s", "mining", "-y", "2024")
    (row,) = payload["rows"]  # type: ignore[misc]
    assert row["hhi"] == pytest.approx(4861.5, abs=1)
    assert row["top3_countries"] == "CHN USA MMR"
    assert set(row["shares"]) >= {"CHN", "USA", "MMR", "AUS"}


def test_geopolrisk_json_keys() -> None:
    payload = _json("geopolrisk", "-c", "cobalt", "--country", "JPN", "-y", "2024")
    (row,) = payload["rows"]  # type: ignore[misc]
    for key in ("hhi", "import_risk", "geopolrisk_score", "characterization_factor"):
        assert isinstance(row[key], float)
    group = _json("geopolrisk", "-c", "cobalt", "--country", "US-JP", "-y", "2024")
    assert group["rows"][0]["importer"] == "US-JP"  # type: ignore[index]


def test_gaps_names_each_bottleneck_and_counts_the_pipeline() -> None:
    payload = _json("gaps", "--alliance", "US-JP", "--year", "2024", "--horizon", "2030")
    rows: list[dict[str, object]] = payload["rows"]  # type: ignore[assignment]
    bottlenecks = payload["meta"]["bottlenecks"]  # type: ignore[index]
    for commodity in {str(r["commodity"]) for r in rows}:
        chain = [r for r in rows if r["commodity"] == commodity and r["gap_pct"] is not None]
        short = [r for r in chain if float(r["gap_pct"]) > 0]  # type: ignore[arg-type]
        if not short:
            assert commodity not in bottlenecks
            continue
        worst = max(short, key=lambda r: float(r["gap_pct"]))  # type: ignore[arg-type]
        assert worst["bottleneck"] is True
        assert bottlenecks[commodity] == worst["stage"]
        assert worst["sources"]
    text = json.dumps(rows)
    for name in ("Thacker Pass", "Rhyolite Ridge", "Mountain Pass"):
        assert name in text


def test_all_sweeps_to_csv() -> None:
    result = runner.invoke(app, ["geopolrisk", "--all", "--year", "2024", "--format", "csv"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("commodity,year,importer,hhi,import_risk")
    assert len(lines) > 5000


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["metrics", "-c", "rare_earths", "--group", "NOPE"], "unknown group or country 'NOPE'"),
        (["metrics", "-c", "rare_earths", "--year", "2031"], "year 2031 is outside the data"),
        (["metrics", "-c", "rare_earths", "-i", "TUV"], "importer TUV: no recorded imports"),
        (["data", "show", "figures", "stock"], "unknown variable 'stock'"),
        (["gaps", "--alliance", "XX"], "unknown group or country 'XX'"),
        (["geopolrisk", "-c", "gallium", "--country", "JPN"], "gallium"),
        (["metrics", "-c", "unobtainium"], "unknown commodity 'unobtainium'"),
    ],
)
def test_bad_input_is_one_line_exit_2(args: list[str], message: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "critmin", *args], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_gaps_all_years() -> None:
    result = runner.invoke(app, ["gaps", "--all", "-c", "rare_earths", "--format", "csv"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 1 + 7 * 4  # header + 2018-2024 x four stages


def test_supply_risk_command() -> None:
    payload = _json("supply-risk", "--region", "US-JP", "-c", "rare_earths", "-y", "2024")
    rows = payload["rows"]
    assert {r["stage"] for r in rows} == {"mining", "separation", "metal", "magnet"}  # type: ignore[union-attr]
    for row in rows:  # type: ignore[union-attr]
        assert {"hhi_wgi_global", "import_reliance", "eol_rir", "supply_risk"} <= set(row)


def test_data_show_shares_names_source_year_and_grade() -> None:
    payload = _json("data", "show", "shares", "-c", "rare_earths", "-y", "2024")
    rows: list[dict[str, object]] = payload["rows"]  # type: ignore[assignment]
    assert {r["stage"] for r in rows} == {"mining", "separation", "metal", "magnet"}
    for row in rows:
        assert row["year"]
        if row["output"] is None:  # named without a figure: the note says why
            assert row["note"]
            continue
        assert row["source"]
        assert row["grade"] in ("primary", "secondary", "assumption", "derived")
    magnets = {r["country"] for r in rows if r["stage"] == "magnet"}
    assert {"JPN", "VNM", "DEU"} <= magnets
    separation = {r["country"] for r in rows if r["stage"] == "separation"}
    assert {"USA", "MYS", "EST"} <= separation
    usa = next(r for r in rows if r["stage"] == "separation" and r["country"] == "USA")
    assert usa["output"] == pytest.approx(4_300)
    assert usa["source"] == "usgs_mcs2026_ree"
    coverage = payload["meta"]["named countries' share of world output"]  # type: ignore[index]
    assert coverage["mining"] == "100.0%"


def test_data_sources_lists_every_source_id() -> None:
    payload = _json("data", "sources")
    ids = {r["source_id"] for r in payload["rows"]}  # type: ignore[union-attr]
    assert {"wmd_2024", "cepii_baci", "governance", "usgs_mcs2026_ree"} <= ids
