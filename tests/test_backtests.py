"""Backtests: every episode runs from the CLI, cites its figures and reports its error."""

from __future__ import annotations

import json
import math

from typer.testing import CliRunner

from critmin.cli.app import app
from critmin.simulation.backtests import episode_names, run_backtest
from critmin.simulation.backtests.runner import episodes

runner = CliRunner()


def test_list_and_run_every_episode_from_the_cli():
    listing = runner.invoke(app, ["backtest", "list", "--format", "json"])
    assert listing.exit_code == 0, listing.output
    names = [row["name"] for row in json.loads(listing.output)["rows"]]
    assert names == ["quota-2010", "gallium-germanium-2023", "rare-earths-2025"]
    for name in names:
        result = runner.invoke(app, ["backtest", name, "--format", "json"])
        assert result.exit_code == 0, result.output
        rows = json.loads(result.output)["rows"]
        assert rows
        for row in rows:
            assert row["source_url"].startswith("http")
            assert math.isclose(row["error"], row["model"] - row["observed"], abs_tol=1e-12)


def test_every_observed_figure_is_cited():
    for name, spec in episodes().items():
        for target in spec["targets"]:
            assert target["source"]["url"].startswith("http"), (name, target["id"])
            assert target["source"]["title"], (name, target["id"])
            assert isinstance(target["observed"], int | float)


def test_unknown_episode_exits_2():
    result = runner.invoke(app, ["backtest", "nope"])
    assert result.exit_code != 0


def test_backtests_are_deterministic_and_respond_to_parameters():
    a = run_backtest("rare-earths-2025")
    b = run_backtest("rare-earths-2025")
    assert a.model.tolist() == b.model.tolist()
    low = run_backtest("rare-earths-2025", approval_rate=0.1).set_index("target")
    high = run_backtest("rare-earths-2025", approval_rate=0.9).set_index("target")
    assert low.loc["dy_exports_2025", "model"] < high.loc["dy_exports_2025", "model"]
    assert set(episode_names()) == set(episodes())


def test_docs_table_matches_the_model():
    from pathlib import Path

    text = (Path(__file__).parents[1] / "docs" / "backtests.md").read_text(encoding="utf-8")
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 8 and cells[1].startswith("`"):
            rows[(cells[0], cells[1].strip("`"))] = (float(cells[3]), float(cells[4]))
    for name in episode_names():
        for row in run_backtest(name).itertuples():
            observed, model = rows[(name, row.target)]
            assert observed == round(row.observed, 2), (name, row.target)
            assert abs(model - row.model) <= 0.005 + 1e-9, (name, row.target, model, row.model)


def test_baci_targets_match_the_embedded_data():
    from critmin.data import tables

    def exports(year: int) -> tuple[float, float]:
        t = tables.trade_year(year)
        t = t[(t.exporter == "CHN") & t.hs.astype(str).isin(["284690", "284610", "280530"])]
        return float(t.quantity_t.sum()), float(t.value_kusd.sum())

    q09, v09 = exports(2009)
    q10, v10 = exports(2010)
    q11, v11 = exports(2011)
    targets = {t["id"]: t["observed"] for t in episodes()["quota-2010"]["targets"]}
    assert round(q10 / q09, 3) == targets["volume_2010"]
    assert round(q11 / q09, 3) == targets["volume_2011"]
    assert round((v10 / q10) / (v09 / q09), 2) == targets["unit_value_2010"]
    assert round((v11 / q11) / (v09 / q09), 1) == targets["unit_value_2011"]
