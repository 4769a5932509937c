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


def test_help_lists_every_command_without_importing_them() -> None:
    """`critmin --help` lists every command from the summaries kept in the app: no command
    module, no pandas, no engine is imported; each summary is its command's first help line."""
    from critmin.cli.app import COMMANDS, load_command

    probe = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from critmin.cli.app import app\n"
        "result = CliRunner().invoke(app, ['--help'], env={'COLUMNS': '200'})\n"
        "print(result.output)\n"
        "loaded = [m for m in sys.modules if m.endswith('_cmd') or m.split('.')[0] in "
        "('pandas', 'numpy', 'xarray', 'linopy', 'scipy', 'sqlalchemy')]\n"
        "print('LOADED', loaded)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert "LOADED []" in done.stdout, done.stdout
    for name, entry in COMMANDS.items():
        assert name in done.stdout
        command = load_command(name)
        assert (command.help or "").strip().splitlines()[0] == entry.summary, name


def test_version() -> None:
    from importlib.metadata import version

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"critmin {version('critmin')}"


@pytest.mark.parametrize("width", [60, 80, 120])
def test_tables_fit_the_terminal(width: int) -> None:
    """Columns that do not fit the terminal are dropped from the right and named."""
    args = ["metrics", "--commodity", "rare_earths", "--year", "2024"]
    result = runner.invoke(app, args, env={"COLUMNS": str(width)})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert max(len(line) for line in lines) <= width
    assert "┃ stage" in result.output  # the first column is always shown
    wide = runner.invoke(app, args, env={"COLUMNS": "400"})
    if "not shown at this width" in result.output:
        hidden = result.output.split("not shown at this width:")[1].split()[0].rstrip(",")
        assert hidden in wide.output
    assert "not shown at this width" not in wide.output


def test_long_tables_are_cut_in_the_terminal_only() -> None:
    from critmin.cli.output import MAX_TABLE_ROWS

    args = ["data", "show", "production", "--year", "2024"]
    table = runner.invoke(app, args, env={"COLUMNS": "200"})
    rows = runner.invoke(app, [*args, "--format", "csv"])
    assert table.exit_code == 0
    assert rows.exit_code == 0
    total = len(rows.output.strip().splitlines()) - 1
    assert total > MAX_TABLE_ROWS
    assert f"the first {MAX_TABLE_ROWS:,} of {total:,}" in table.output


def test_missing_service_extra_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: object
) -> None:
    """Without the `service` extra, `critmin serve` names the extra to install."""
    from critmin.cli import app as cli

    monkeypatch.setitem(sys.modules, "uvicorn", None)  # `import uvicorn` now fails
    monkeypatch.setattr(sys, "argv", ["critmin", "serve", "--port", "8999"])
    with pytest.raises(SystemExit) as stop:
        cli.main()
    assert stop.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    assert "uvicorn is not installed" in lines[0]
    assert "pip install 'critmin[service]'" in lines[0]
    assert "(see `critmin serve --help`)" in lines[0]


def test_simulate_help_describes_the_scenario_file() -> None:
    result = runner.invoke(app, ["simulate", "--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for word in ("export_control", "horizon", "destinations", "docs/methods/simulation.md"):
        assert word in text
