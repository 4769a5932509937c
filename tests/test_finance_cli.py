"""`critmin portfolio` and `critmin pricefloor`: JSON keys, --out folders, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from critmin.cli.app import app
from critmin.errors import InputError
from critmin.projects import EMBEDDED_AS_OF, load_projects, read_projects

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "portfolio"
runner = CliRunner()


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "critmin", *args], capture_output=True, text=True, check=False
    )


def _project(**fields: object) -> dict[str, object]:
    base: dict[str, object] = {
        "project_id": "my_plant",
        "project": "My plant",
        "country": "JPN",
        "commodity": "rare_earths",
        "stage": "magnet",
        "capacity": 1000,
        "capacity_unit": "t/yr NdFeB",
        "capex": 2.0e8,
        "capex_currency": "USD",
        "expected_start": date.today().year + 3,
        "status": "development",
        "source_url": "https://example.org/my-plant",
        "source_title": "Company release",
    }
    return {**base, **fields}


def test_embedded_pipeline_has_25_cited_projects() -> None:
    frame = load_projects()
    assert len(frame) >= 25
    assert frame["source_url"].str.startswith("http").all()
    assert {"rare_earths", "lithium", "graphite", "gallium", "germanium"} <= set(frame["commodity"])
    assert "CHN" not in set(frame["country"])
    assert frame["product"].str.contains("recycl", case=False).any()


def test_portfolio_json_keys_and_out_folder(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["portfolio", str(EXAMPLES / "china_share_separation.yaml"), "--points", "3",
         "--format", "json", "--out", str(tmp_path / "out")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    for key in ("selected", "objective", "frontier", "metrics", "marginal_value", "manifest"):
        assert key in doc
    assert doc["objective"]["optimality_gap"] <= 1e-6
    assert len(doc["frontier"]) == 4
    assert {"portfolio.json", "selected.csv", "frontier.csv", "metrics.csv"} <= {
        p.name for p in (tmp_path / "out").iterdir()
    }


def test_pricefloor_json_keys(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["pricefloor", "--commodity", "ndpr_oxide", "--floor", "110", "--volume-tpa", "1000",
         "--years", "10", "--dumping", "moderate", "--paths", "4000", "--draws", "200",
         "--format", "json", "--out", str(tmp_path / "pf")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    for key in ("expected_cost", "p95_cost", "cvar95_cost", "present_value", "annual",
                "dumping_effect", "uncertainty", "reference_case"):  # fmt: skip
        assert key in doc
    assert doc["cvar95_cost"] >= doc["p95_cost"] >= doc["expected_cost"] > 0
    band = doc["uncertainty"]["expected_cost"]
    assert band["low"] < band["median"] < band["high"]
    assert doc["settings"]["terms"]["volume_tpa"] == [1000.0] * 10
    assert doc["settings"]["terms"]["upside_share"] == 0.3  # the cited clawback stays on
    assert (tmp_path / "pf" / "annual.csv").is_file()


def test_pricefloor_cases_and_fixed_parameters() -> None:
    jare = runner.invoke(app, ["pricefloor", "--case", "jare_lynas", "--paths", "2000",
                               "--draws", "100", "--format", "json"])  # fmt: skip
    assert jare.exit_code == 0, jare.output
    doc = json.loads(jare.output)
    assert doc["settings"]["terms"]["upside_strike"] == 150.0
    assert doc["settings"]["terms"]["volume_tpa"] == [5000.0] * 12
    fixed = runner.invoke(app, ["pricefloor", "--kappa", "0.5", "--paths", "2000",
                                "--format", "json"])  # fmt: skip
    assert json.loads(fixed.output)["uncertainty"] is None
    bad = runner.invoke(app, ["pricefloor", "--case", "none", "--floor", "100"])
    assert isinstance(bad.exception, InputError)
    assert "--case none: give --volume-tpa, --years" in str(bad.exception)


def test_user_projects_file_adds_a_candidate(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump({"projects": [_project()]}), encoding="utf-8")
    frame = read_projects(path)
    assert frame.loc[0, "project_id"] == "my_plant"
    assert len(load_projects(path)) == len(load_projects()) + 1


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"capex": -5.0e6}, "capex = -5000000.0: must be >= 0"),
        ({"expected_start": 2020}, "expected_start = 2020: before"),
        ({"status": "planned"}, "status = 'planned': unknown status"),
    ],
)
def test_bad_project_file_exits_2_with_one_line(
    tmp_path: Path, fields: dict[str, object], message: str
) -> None:
    path = tmp_path / "bad.csv"
    import pandas as pd

    pd.DataFrame([_project(**fields)]).to_csv(path, index=False)
    proc = _run("portfolio", str(EXAMPLES / "hhi_magnets.yaml"), "--projects", str(path))
    assert proc.returncode == 2, proc.stderr
    line = proc.stderr.strip()
    assert "\n" not in line
    assert message in line
    assert "my_plant" in line


def test_operating_project_may_have_started(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text(yaml.safe_dump([_project(expected_start=2020, status="operating")]))
    assert read_projects(path, as_of=EMBEDDED_AS_OF).loc[0, "status"] == "operating"


def test_unknown_instrument_exits_2(tmp_path: Path) -> None:
    raw = yaml.safe_load((EXAMPLES / "hhi_magnets.yaml").read_text())
    raw["parties"]["USA"]["instruments"] = ["grant", "bond"]
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(raw))
    proc = _run("portfolio", str(path))
    assert proc.returncode == 2
    line = proc.stderr.strip()
    assert "\n" not in line
    assert "parties.USA.instruments[1] = 'bond'" in line
    assert "'price_floor'" in line


@pytest.mark.parametrize("floor", ["0", "-10"])
def test_non_positive_floor_exits_2(floor: str) -> None:
    proc = _run("pricefloor", "--floor", floor, "--paths", "100")
    assert proc.returncode == 2
    line = proc.stderr.strip()
    assert "\n" not in line
    assert f"--floor {float(floor)}: must be > 0" in line


def test_projects_command_lists_and_validates(tmp_path: Path) -> None:
    result = runner.invoke(app, ["projects", "--commodity", "gallium", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)["rows"]
    assert {r["project_id"] for r in rows} == {"alcoa_wagerup_gallium", "nyrstar_clarksville_ga"}
    assert all(r["source_url"].startswith("https://") for r in rows)
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump([_project(capex=-1.0)]), encoding="utf-8")
    proc = _run("projects", "--file", str(bad))
    assert proc.returncode == 2
    assert "capex = -1.0: must be >= 0" in proc.stderr
