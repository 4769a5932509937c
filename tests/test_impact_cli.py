"""`critmin impact`: industries with output and value-added losses in USD, units and sources."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from critmin.cli.app import app
from critmin.errors import InputError, ScenarioError

runner = CliRunner()
SCENARIO = "examples/scenarios/china_ree_ban_usa_jpn.yaml"


@pytest.mark.parametrize("country", ["USA", "JPN"])
def test_json_lists_industries_with_losses_units_and_sources(country: str) -> None:
    args = ["impact", "--commodity", "rare_earths", "--scenario", SCENARIO]
    result = runner.invoke(app, [*args, "--country", country, "--format", "json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    meta, rows = payload["meta"], payload["rows"]
    assert meta["country"] == country
    assert meta["commodity"] == "rare_earths"
    assert meta["gdp_change_usd"] < 0
    assert meta["units"].startswith("USD")
    source = meta["sources"]["io_source"]
    assert source["publisher"]
    assert source["licence"]
    assert source["url"].startswith("https://")
    assert "bridges.csv" in meta["sources"]["bridges"]
    assert len(rows) == 25
    assert all(r["unit"] == "USD" for r in rows)
    assert {"industry", "name", "output_change_usd", "va_change_usd"} <= set(rows[0])
    losses = [r["va_change_usd"] for r in rows]
    assert losses == sorted(losses)
    assert losses[0] < 0


def test_table_and_out_folder(tmp_path: Path) -> None:
    out = tmp_path / "impact"
    result = runner.invoke(
        app, ["impact", "--scenario", SCENARIO, "--country", "JPN", "--top", "5", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "Passenger cars" in result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["country"] == "JPN"
    assert {p.name for p in out.iterdir()} >= {"industries.csv", "scenarios.parquet"}


@pytest.mark.parametrize(
    ("args", "error", "needle"),
    [
        (["impact"], InputError, "give --scenario FILE, --commodity NAME or --sweep"),
        (
            ["impact", "--commodity", "gallium", "--scenario", SCENARIO],
            InputError,
            "--commodity 'gallium': the scenario",
        ),
        (["impact", "--scenario", SCENARIO, "--country", "DEU"], InputError, "country 'DEU'"),
        (["impact", "--commodity", "batteries"], InputError, "cannot be simulated (scenario"),
        (["impact", "--commodity", "gallium", "--samples", "5"], InputError, "--samples"),
        (["impact", "--scenario", "no/such.yaml"], ScenarioError, "no/such.yaml"),
        (["impact", "--scenario", SCENARIO, "--top", "-1"], InputError, "--top -1"),
    ],
)
def test_errors_name_the_field(args: list[str], error: type, needle: str) -> None:
    result = runner.invoke(app, args)
    assert isinstance(result.exception, error), result.output
    assert needle in str(result.exception)
