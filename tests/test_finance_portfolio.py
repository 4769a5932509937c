"""Portfolio decisions that hold: committed financing honoured, additionality (support counts
only for what it changes), the feedstock rule, and the chosen portfolio re-simulated through
the market model with and without support."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from critmin.cli.app import app
from critmin.optimisation.portfolio import build_inputs, load_config, solve_portfolio
from critmin.optimisation.portfolio.engine import engine_check
from critmin.optimisation.portfolio.flows import FlowData, closed_value, upper_bound
from critmin.optimisation.portfolio.inputs import committed_financing
from critmin.projects import additionality, load_financing, load_projects

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "portfolio"


def test_financing_is_cited_and_known() -> None:
    fin = load_financing()
    assert set(fin["project_id"]) <= set(load_projects()["project_id"])
    assert fin["source_url"].str.startswith("http").all()
    assert (fin["amount"].dropna() >= 0).all()
    table = additionality()
    assert (table["probability_with_support"] >= table["probability_without_support"]).all()
    assert (table["probability_with_support_low"] <= table["probability_with_support"]).all()
    assert (table["probability_with_support"] <= table["probability_with_support_high"]).all()


def test_eneabba_financing_is_honoured() -> None:
    config = load_config(EXAMPLES / "china_share_separation.yaml")
    inputs = build_inputs(config)
    committed = committed_financing(config)
    aud = config.assumptions.fx_usd_per_unit["AUD"]
    assert committed["iluka_eneabba"] == pytest.approx((1.25e9 + 0.4e9 + 0.414e9) * aud, rel=1e-12)
    excluded = inputs.excluded
    reason = str(excluded.loc[excluded["project_id"] == "iluka_eneabba", "reason"].iloc[0])
    assert reason.startswith("fully financed")
    assert "iluka_eneabba" not in inputs.candidates.index
    pipeline = inputs.pipeline.set_index("project_id")
    assert pipeline.loc["iluka_eneabba", "basis"] == "fully financed"  # delivers without support
    result = solve_portfolio(config, inputs, points=0, engine=False)
    assert "iluka_eneabba" not in set(result.selected["project_id"])
    # the need of a candidate is what committed money leaves open, at most the need share
    cands = inputs.candidates
    left = cands["capex_usd"] - cands["committed_usd"]
    share = config.assumptions.need_share_of_capex
    np.testing.assert_allclose(cands["need_usd"], np.minimum(share * cands["capex_usd"], left))


def test_support_counts_only_what_it_changes() -> None:
    config = load_config(EXAMPLES / "us_japan_window.yaml")
    inputs = build_inputs(config)
    cands = inputs.candidates
    np.testing.assert_allclose(cands["additional_t"], cands["expected_t"] - cands["baseline_t"])
    # gaps large enough that the no-support pipeline leaves something for support to close
    # (with the cited consumption, the shipped ban leaves the allies short of about 1,000 t of
    # magnets, which the pipeline alone covers)
    inputs = dataclasses.replace(inputs, shortfall=inputs.shortfall * 100.0)
    result = solve_portfolio(config, inputs, points=0, engine=False)
    objective = result.objective
    assert objective["improvement"] == pytest.approx(objective["value"] - objective["baseline"])
    assert objective["improvement"] > 0
    # support that changes neither success nor timing buys nothing
    same = config.assumptions.model_copy(
        update={"probability_with_support": dict(config.assumptions.probability_of_success),
                "delay_without_support_years": {k: 0 for k in
                                                config.assumptions.delay_without_support_years}}
    )  # fmt: skip
    inert = config.model_copy(update={"assumptions": same})
    still = build_inputs(inert)
    nothing = solve_portfolio(
        inert, dataclasses.replace(still, shortfall=still.shortfall * 100.0), points=0,
        engine=False,
    )
    assert nothing.objective["improvement"] == 0.0
    assert nothing.objective["projects"] == []


def _chain(value_b: float, surplus_b: float) -> FlowData:
    """Two nodes A -> B (yield 1), new capacity A 10 t/yr, B 20 t/yr; gaps of 100 t over 12
    months at A (1 USD/t) and B (``value_b`` USD/t)."""
    return FlowData(
        nodes=["c.a", "c.b"],
        upstream=[None, 0],
        yields=np.array([np.nan, 1.0]),
        surplus=np.array([np.inf, surplus_b]),
        base=np.array([10.0, 20.0]),
        added=np.zeros((1, 2)),
        gap_node=np.array([0, 1]),
        product=np.array([False, False]),
        rate=np.array([1.0, 1.0]),
        value=np.array([1.0, value_b]),
        short=np.array([[100.0], [100.0]]),
        weights=np.ones(1),
        product_base=np.zeros(2),
        product_added=np.zeros((1, 2)),
    )


@pytest.mark.parametrize(
    ("value_b", "surplus_b", "expected"),
    [
        (3.0, 0.0, 30.0),  # A's 10 t feed B: 10 t of B at 3 USD
        (0.5, 0.0, 10.0),  # B worth less than A: A closes its own gap
        (3.0, 4.0, 42.0),  # B runs 14 t: 4 t of surplus + all 10 t of A
    ],
)
def test_feedstock_rule_by_hand(value_b: float, surplus_b: float, expected: float) -> None:
    data = _chain(value_b, surplus_b)
    assert closed_value(data, np.zeros(1)) == pytest.approx(expected, rel=1e-9)
    assert upper_bound(data, np.zeros((1, 1)))[0] >= expected - 1e-9


def test_capacity_without_feedstock_closes_nothing() -> None:
    data = _chain(3.0, 0.0)
    starved = FlowData(**{**data.__dict__, "base": np.array([0.0, 20.0])})
    assert closed_value(starved, np.zeros(1)) == 0.0


def test_engine_runs_with_and_without_support() -> None:
    config = load_config(EXAMPLES / "us_japan_window.yaml")
    config = config.model_copy(
        update={"engine": config.engine.model_copy(update={"samples": 24})}  # type: ignore[union-attr]
    )
    inputs = build_inputs(config)
    chosen = ["vulcan_elements"]
    check = engine_check(config, inputs, chosen)
    assert check["status"] == "ok"
    value = check["allied_shortfall_value_usd"]
    avoided = check["shortfall_avoided_usd"]
    assert avoided["mean"] == pytest.approx(
        value["without_support"]["mean"] - value["with_support"]["mean"], rel=1e-9
    )
    assert avoided["mean"] > 0
    magnet = next(r for r in check["by_stage"] if r["stage"] == "magnet")
    assert magnet["shortfall_with_support_t"] < magnet["shortfall_without_support_t"]
    shares = {r["stage"]: r for r in check["china_share"]}
    assert shares["magnet"]["with_support"]["mean"] <= shares["magnet"]["without_support"]["mean"]
    # nothing chosen: the two arms draw the same numbers and agree exactly
    none = engine_check(config, inputs, [])
    assert none["shortfall_avoided_usd"]["mean"] == 0.0
    assert none["shortfall_avoided_usd"]["high"] == 0.0


def test_portfolio_command_reports_the_engine_runs() -> None:
    result = CliRunner().invoke(
        app, ["portfolio", str(EXAMPLES / "us_japan_window.yaml"), "--points", "0",
              "--samples", "12", "--format", "json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    engine = doc["engine"]
    assert engine["status"] == "ok"
    assert set(engine["allied_shortfall_value_usd"]) == {"without_support", "with_support"}
    assert engine["samples"] == 12
    assert any(r["project_id"] == "iluka_eneabba" for r in doc["pipeline"])


def test_projects_command_lists_the_financing() -> None:
    result = CliRunner().invoke(app, ["projects", "--commodity", "rare_earths", "--financing",
                                      "--format", "json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)["rows"]
    eneabba = [r for r in rows if r["project_id"] == "iluka_eneabba"]
    assert {r["provider_country"] for r in eneabba} == {"AUS"}
    assert sum(r["amount"] for r in eneabba if r["instrument"] == "loan"
               and r["status"] != "contingent") == 1.65e9  # fmt: skip
    assert all(r["source_url"].startswith("http") for r in rows)
