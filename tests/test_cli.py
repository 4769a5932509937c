"""The `critmin data` command line: outputs, formats and one-line errors."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from critmin.cli.app import app

runner = CliRunner()


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "critmin", *args], capture_output=True, text=True, check=False
    )


def test_show_production_json_has_units() -> None:
    result = runner.invoke(
        app,
        [
            "data",
            "show",
            "production",
            "--commodity",
            "rare_earths",
            "--year",
            "2024",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)["rows"]
    china = next(r for r in rows if r["country"] == "CHN")
    assert china["value"] == 270_000
    assert china["unit"] == "t REO"
    assert all(r["unit"] == "t REO" for r in rows)


def test_sources_lists_licences_and_versions() -> None:
    result = runner.invoke(app, ["data", "sources", "--format", "json"])
    assert result.exit_code == 0
    rows = json.loads(result.output)["rows"]
    names = {r["source_id"] for r in rows if r["kind"] == "dataset"}
    assert {"production", "trade", "governance", "curated", "chains"} <= names
    assert all(r["licence"] and r["year"] for r in rows)
    assert {r["kind"] for r in rows} == {"dataset", "figure source"}


def test_trade_csv_and_filters() -> None:
    result = runner.invoke(
        app,
        [
            "data",
            "show",
            "trade",
            "--hs",
            "271111",
            "--importer",
            "JPN",
            "--year",
            "2024",
            "--format",
            "csv",
        ],
    )
    assert result.exit_code == 0
    lines = result.output.strip().splitlines()
    assert lines[0] == "year,exporter,importer,hs,value_usd,quantity_t"
    assert lines[1].startswith("2024,AUS,JPN,271111,")


def test_shares_and_list_and_summary() -> None:
    shares = runner.invoke(
        app, ["data", "show", "shares", "--commodity", "rare_earths", "--format", "json"]
    )
    assert shares.exit_code == 0
    rows = json.loads(shares.output)["rows"]
    assert {r["stage"] for r in rows} == {"mining", "separation", "metal", "magnet"}
    listing = runner.invoke(app, ["data", "list", "--format", "csv"])
    assert "rare_earths,separation" in listing.output
    summary = runner.invoke(app, ["data", "summary", "--format", "json"])
    assert summary.exit_code == 0
    assert len(json.loads(summary.output)["rows"]) >= 15


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (
            ["data", "show", "production", "--commodity", "unobtainium"],
            "unknown commodity 'unobtainium'",
        ),
        (["data", "show", "production", "--country", "XXX"], "unknown country 'XXX'"),
        (["data", "show", "production", "--year", "1990"], "year 1990 is not available"),
        (
            ["data", "show", "trade", "--hs", "271111", "--exporter", "ZZZ"],
            "unknown exporter 'ZZZ'",
        ),
        (["data", "summary", "--alliance", "NOPE"], "unknown group or country 'NOPE'"),
    ],
)
def test_bad_input_is_one_line_exit_2(args: list[str], needle: str) -> None:
    result = _run(*args)
    assert result.returncode == 2
    assert needle in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_validate_passes_on_the_shipped_data() -> None:
    result = runner.invoke(app, ["data", "validate"])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    "args",
    [
        ["metrics", "--commodity", "unobtainium"],
        ["simulate"],
        ["simulate", "examples/scenarios/myanmar_mining_outage.yaml", "--samples", "many"],
        ["data", "show", "production", "--commodity", "zz"],
        ["--no-such-option"],
        ["no-such-command"],
        ["report", "--out", "report.txt"],
    ],
)
def test_every_error_is_one_line_with_a_hint(args: list[str]) -> None:
    """Errors of our own and usage errors alike: one line, where to look, exit code 2."""
    done = subprocess.run(
        [sys.executable, "-m", "critmin", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "COLUMNS": "300"},
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ")
    assert re.search(r"\(see `critmin[a-z -]* --help`\)$", lines[0])
