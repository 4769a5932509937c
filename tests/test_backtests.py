"""Backtests: every episode runs from the CLI, cites its figures and reports its error."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from critmin.cli.app import app
from critmin.simulation.backtests import episode_names, run_backtest
from critmin.simulation.backtests.runner import episodes

runner = CliRunner()
GRADES = {"primary", "secondary", "assumption", "derived"}


@pytest.fixture(scope="module")
def card():
    from critmin.simulation.backtests.score import scorecard

    return scorecard()


def test_list_and_run_every_episode_from_the_cli():
    listing = runner.invoke(app, ["backtest", "list", "--format", "json"])
    assert listing.exit_code == 0, listing.output
    rows = json.loads(listing.output)["rows"]
    names = [row["name"] for row in rows]
    assert names == ["quota-2010", "gallium-germanium-2023", "rare-earths-2025"]
    assert [row["base_year"] for row in rows] == [2009, 2022, 2024]
    for name in names:
        result = runner.invoke(app, ["backtest", name, "--draws", "3", "--format", "json"])
        assert result.exit_code == 0, result.output
        payload = json.loads(result.output)
        rows = payload["rows"]
        assert rows
        for row in rows:
            assert row["source_url"].startswith("http")
            assert math.isclose(row["error"], row["model"] - row["observed"], abs_tol=1e-12)
            assert row["low"] <= row["high"]
        assert {r["episode"] for r in payload["meta"]["held_out"]} == {name}
        paths = pd.DataFrame(payload["meta"]["paths"])
        assert {"exports", "price"} <= set(paths.series)
        assert (paths.low <= paths.high).all()
        shipped = runner.invoke(app, ["backtest", name, "--shipped", "--format", "json"])
        assert shipped.exit_code == 0, shipped.output
        assert "paths" in json.loads(shipped.output)["meta"]


def test_paths_carry_the_targets_and_sum_to_years():
    """The monthly paths are the run's: the 2010 unit-value target is the mean of the
    monthly unit-value path over 2010, the Aug 2023 Ga exports are the path's August (0), and
    every annual flow is the sum of its months, every annual price their mean."""
    from critmin.simulation.backtests.runner import replay

    run = replay("quota-2010")
    p = run.paths
    uv = p[(p.series == "unit_value") & p.period.str.startswith("2010-")]
    target = run.targets.set_index("target").loc["unit_value_2010", "model"]
    assert uv.value.mean() == pytest.approx(target, rel=1e-12)
    assert len(uv) == 12
    for series, zone, how in (
        ("exports", "CHN>XCN", "sum"),
        ("price", "XCN", "mean"),
        ("stock", "CHN", "last"),
    ):
        rows = p[(p.series == series) & (p.good == "Dy|metal") & (p.zone == zone)]
        monthly = rows[rows.period.str.startswith("2011-")].value
        annual = rows[rows.period == "2011"].value.iloc[0]
        assert annual == pytest.approx(
            getattr(monthly, how)() if how != "last" else monthly.iloc[-1], rel=1e-12
        )
    ga = replay("gallium-germanium-2023").paths
    aug = ga[(ga.series == "exports") & (ga.good == "Ga") & (ga.period == "2023-08")]
    assert aug.value.iloc[0] == pytest.approx(0.0, abs=1e-9)
    # in August 2023 the exporters hold a month of Ga's base exports awaiting licences
    held = ga[(ga.series == "pipeline") & (ga.good == "Ga") & (ga.period == "2023-08")]
    assert held.value.iloc[0] == pytest.approx(81.2 / 12, rel=1e-12)
    assert not ga.period.eq("2025").any()  # no whole 2025 in the horizon


def test_every_observed_figure_is_cited():
    for name, spec in episodes().items():
        for target in spec["targets"]:
            assert target["source"]["url"].startswith("http"), (name, target["id"])
            assert target["source"]["title"], (name, target["id"])
            assert isinstance(target["observed"], int | float)
            prev = target["previous"]
            if "value" in prev:
                assert prev["source"]["url"].startswith("http"), (name, target["id"])
                assert isinstance(prev["value"], float), (name, target["id"])
                assert prev["grade"] in GRADES, (name, target["id"])
                assert prev["licence"], (name, target["id"])
                assert isinstance(prev["year"], int), (name, target["id"])
            else:
                assert prev["unknown"], (name, target["id"])


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


def test_docs_scorecard_matches_the_model(card):
    from pathlib import Path

    text = (Path(__file__).parents[1] / "docs" / "backtests.md").read_text(encoding="utf-8")
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 10 and cells[1].startswith("`"):
            rows[(cells[0], cells[1].strip("`"))] = cells
    assert len(rows) == len(card)
    for row in card.itertuples():
        cells = rows[(row.episode, row.target)]
        assert float(cells[3]) == round(row.observed, 2), row.target
        assert abs(float(cells[4]) - row.model) <= 0.005 + 1e-9, (row.target, cells[4], row.model)
        low, high = (float(x) for x in cells[5].split(" - "))
        assert abs(low - row.low) <= 0.005 + 1e-9
        assert abs(high - row.high) <= 0.005 + 1e-9
        assert cells[6] == ("cap replay" if row.cap_replay else "market"), row.target


def test_baci_targets_match_the_embedded_data():
    from critmin.data import tables

    def exports(year: int) -> tuple[float, float]:
        t = tables.trade_year(year)
        t = t[(t.exporter == "CHN") & t.hs.astype(str).isin(["284690", "284610", "280530"])]
        return float(t.quantity_t.sum()), float(t.value_kusd.sum())

    q09, v09 = exports(2009)
    q10, v10 = exports(2010)
    q11, v11 = exports(2011)
    q06, v06 = exports(2006)
    q12, v12 = exports(2012)
    q07, v07 = exports(2007)
    q08, v08 = exports(2008)
    spec = episodes()["quota-2010"]["targets"]
    targets = {t["id"]: t["observed"] for t in spec}
    assert round(q10 / q09, 3) == targets["volume_2010"]
    assert round(q11 / q09, 3) == targets["volume_2011"]
    assert round((v10 / q10) / (v09 / q09), 2) == targets["unit_value_2010"]
    assert round((v11 / q11) / (v09 / q09), 1) == targets["unit_value_2011"]
    assert round(q12 / q09, 3) == targets["volume_2012"]
    assert round((v12 / q12) / (v09 / q09), 2) == targets["unit_value_2012"]
    # last year's growth: the same span just before the reference year 2009
    prev = {t["id"]: t["previous"]["value"] for t in spec if "value" in t["previous"]}
    assert round(q09 / q08, 3) == prev["volume_2010"]
    assert round(q09 / q07, 3) == prev["volume_2011"]
    assert round((v09 / q09) / (v08 / q08), 3) == prev["unit_value_2010"]
    assert round((v09 / q09) / (v07 / q07), 3) == prev["unit_value_2011"]
    assert round(q09 / q06, 3) == prev["volume_2012"]
    assert round((v09 / q09) / (v06 / q06), 3) == prev["unit_value_2012"]


def test_cap_replays_are_labelled_and_not_scored():
    """A volume target whose model value equals the compiled cap is a cap replay: the cap is
    the mean allowed share of the month(s) (May 2025 magnets: the compiled path itself)."""
    from critmin.simulation.rules.compiler import compile_rules
    from critmin.simulation.rules.schema import load_rules

    frame = run_backtest("rare-earths-2025").set_index("target")
    spec = episodes()["rare-earths-2025"]
    compiled = compile_rules([load_rules(r) for r in spec["rules"]], spec["start"], 12)
    may = compiled.labels.index("2025-05")
    assert frame.loc["magnets_may", "cap"] == compiled.allowed[("magnet", "magnet")][may]
    assert frame.loc["magnets_may", "cap_replay"]
    prices = frame[frame.kind == "price"]
    assert prices.cap.isna().all()
    assert not prices.cap_replay.any()
    # a cap that does not bind is no replay: with free licences the Dy exports stay at base
    free = run_backtest("rare-earths-2025", approval_rate=1.0).set_index("target")
    assert free.loc["dy_exports_2025", "cap"] > free.loc["dy_exports_2025", "model"] + 1e-3
    assert not free.loc["dy_exports_2025", "cap_replay"]


def test_no_parameter_is_scored_on_an_episode_it_was_estimated_on(card):
    from critmin.errors import DataError
    from critmin.simulation.backtests.protocol import (
        check_held_out,
        estimates_data,
        held_out,
        scored_with,
    )

    informed = {
        (p, est["episode"]) for p, spec in estimates_data().items() for est in spec["estimates"]
    }
    assert ("leakage", "quota-2010") in informed
    assert ("processing_spread", "rare-earths-2025") in informed
    for name in episode_names():
        values = held_out(name)
        assert set(values) == set(estimates_data())
        for v in values.values():
            assert name not in v.estimated_on, (name, v.parameter)
            assert (v.parameter, name) not in {(v.parameter, e) for e in v.estimated_on}
            assert v.low <= v.value <= v.high
        check_held_out(name, values)
        # the scorecard ran exactly these values
        rule, market = scored_with(values)
        frame = run_backtest(name, parameters=market, **rule)
        assert frame.model.tolist() == card[card.episode == name].model.tolist()
    # an in-sample value is refused
    values = held_out("quota-2010")
    leak = values["leakage"]
    values["leakage"] = type(leak)(
        "leakage", "rule", 0.316, ("quota-2010",), 0.316, 0.316, "in sample"
    )
    with pytest.raises(DataError, match="leakage: estimated on quota-2010"):
        check_held_out("quota-2010", values)
    del values["leakage"]
    with pytest.raises(DataError, match="no held-out value for leakage"):
        check_held_out("quota-2010", values)
    # the held-out 2010 run differs from the shipped (in-sample) one
    shipped = run_backtest("quota-2010")
    assert card[card.episode == "quota-2010"].model.tolist() != shipped.model.tolist()


def test_fitted_approval_rates_meet_their_targets():
    from critmin.simulation.backtests.protocol import estimate, estimates_data

    for k, est in enumerate(estimates_data()["approval_rate"]["estimates"]):
        rate = estimate("approval_rate", k)
        assert 0.0 < rate < 1.0
        frame = run_backtest(est["episode"], approval_rate=rate).set_index("target")
        assert frame.loc[est["target"], "model"] == pytest.approx(
            frame.loc[est["target"], "observed"], abs=1e-9
        )


def test_skill_and_baselines(card):
    from critmin.simulation.backtests.score import skill

    assert (card.no_change == 1.0).all()
    vol = card.kind == "volume"
    assert card[vol].cap_only.tolist() == card[vol].cap.tolist()
    assert (card[~vol].cap_only == 1.0).all()
    assert not card[card.cap_replay | (card.observed == 0)].scored.any()
    scored = card[card.scored]
    assert np.allclose(
        scored.err_model, np.abs(np.log(scored.model / scored.observed)), rtol=1e-12, atol=0
    )
    table = skill(card).set_index(["episode", "targets", "baseline"])
    for name in (*episode_names(), "all"):
        part = card if name == "all" else card[card.episode == name]
        use = part[part.scored]
        expect = 1.0 - use.err_model.sum() / use.err_no_change.sum()
        assert table.loc[(name, "scored", "no_change"), "skill"] == pytest.approx(expect, rel=1e-12)
        assert table.loc[(name, "scored", "no_change"), "n"] == len(use)
    # hand-made card: model errors 0.1 and 0.3 against baseline errors 0.2 and 0.6
    hand = pd.DataFrame(
        {
            "episode": ["quota-2010"] * 2,
            "kind": ["price"] * 2,
            "scored": [True, True],
            "err_model": [0.1, 0.3],
            "err_no_change": [0.2, 0.6],
            "err_cap_only": [0.2, 0.6],
            "err_last_year": [float("nan"), 0.15],
        }
    )
    got = skill(hand).set_index(["episode", "targets", "baseline"])
    assert got.loc[("quota-2010", "price", "no_change"), "skill"] == pytest.approx(0.5, rel=1e-12)
    assert got.loc[("quota-2010", "price", "last_year"), "skill"] == pytest.approx(-1.0, rel=1e-12)
    assert got.loc[("quota-2010", "price", "last_year"), "n"] == 1


def test_scorecard_is_deterministic_and_intervals_come_from_the_ensemble(card):
    from critmin.simulation.backtests.score import score_episode

    again = score_episode("gallium-germanium-2023")
    mine = card[card.episode == "gallium-germanium-2023"].reset_index(drop=True)
    assert again.low.tolist() == mine.low.tolist()
    assert again.high.tolist() == mine.high.tolist()
    other = score_episode("gallium-germanium-2023", draws=8, seed=7)
    assert other.model.tolist() == mine.model.tolist()
    assert other.low.tolist() != mine.low.tolist()
    point = score_episode("gallium-germanium-2023", draws=0)
    assert point.low.tolist() == point.model.tolist() == point.high.tolist()


def test_score_from_the_cli():
    result = runner.invoke(app, ["backtest", "score", "--draws", "2", "--format", "json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert {r["baseline"] for r in payload["meta"]["skill"]} == {
        "no_change",
        "cap_only",
        "last_year",
    }
    assert {r["episode"] for r in payload["meta"]["parameters"]} == set(episode_names())
    assert len(payload["rows"]) == sum(len(s["targets"]) for s in episodes().values())
    est = runner.invoke(app, ["backtest", "estimates", "--format", "json"])
    assert est.exit_code == 0, est.output
    assert any(r["method"] == "fit" for r in json.loads(est.output)["rows"])


def test_the_2023_episode_foresees_the_announced_licences():
    """The Ga/Ge licensing was announced on 3 Jul 2023: from July the run foresees it, so
    buyers front-run the licence in July (exports above the Jan-Jun rate, where no cap binds:
    a market target, not a cap replay). In August the licence pipeline holds the base flow
    in China, so germanium's China price stays above the storage floor, but it still falls
    from July: holders foresee the glut once decisions release the rejected metal (the
    germanium miss of docs/backtests.md). Gallium, with the 2023 demand condition, falls
    more: its price sits at the floor in June and August, lifted only by July's buying."""
    from critmin.market.params import default_parameters
    from critmin.simulation.elements.zones import storage_floor
    from critmin.simulation.rules.compiler import compile_rules
    from critmin.simulation.rules.schema import load_rules

    spec = episodes()["gallium-germanium-2023"]
    compiled = compile_rules([load_rules(r) for r in spec["rules"]], spec["start"], 24)
    assert compiled.labels[compiled.known_from] == "2023-07"
    frame = run_backtest("gallium-germanium-2023").set_index("target")
    for target in ("ga_jul_2023", "ge_jul_2023"):
        assert frame.loc[target, "cap"] == 1.0
        assert frame.loc[target, "model"] > 1.2
        assert not frame.loc[target, "cap_replay"]
    floor = storage_floor(default_parameters())
    ge = frame.loc["ge_china_price_aug_2023", "model"]
    ga = frame.loc["ga_china_price_aug_2023", "model"]
    assert floor + 0.02 < ge < 1.0
    assert floor < ga < ge
