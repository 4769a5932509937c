"""Stockpile model (issue 6): textbook answers, brute force, laws of cooperation, errors."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from critmin.errors import InfeasibleError, ScenarioError
from critmin.optimisation.stockpile import build_model, make_scenarios, parse_config
from critmin.optimisation.stockpile.arrangements import (
    compare_arrangements,
    rule_days_from_data,
    sensitivity_to_k,
    shapley,
    solve_coalition,
)
from critmin.optimisation.stockpile.config import load_config
from critmin.optimisation.stockpile.scenarios import (
    engine_scenarios,
    reduce_kmedoids,
    scenarios_from_config,
)
from critmin.simulation.scenario import load_scenario

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def config(
    allies: list[str] | dict[str, Any], materials: dict[str, dict[str, Any]], **extra: Any
) -> Any:
    """A config with explicit (placeholder) cases; tests pass their own ScenarioSet."""
    raw = {
        "name": "test",
        "allies": allies if isinstance(allies, dict) else {a: {} for a in allies},
        "materials": materials,
        "scenarios": {"source": "explicit", "cases": [{"probability": 1.0, "shortfall_t": {}}]},
        **extra,
    }
    return parse_config(raw)


# --- newsvendor ----------------------------------------------------------------------------


def test_single_ally_single_material_reproduces_newsvendor_critical_fractile() -> None:
    rng = np.random.default_rng(3)
    n = 40
    demand = rng.gamma(2.0, 50.0, n)  # i.i.d. shortfall cases, t
    # one month: cost of holding c = price x (0.05 + 0.05) / 12 = 10 USD/t, damage d = 37 USD/t
    cfg = config(
        ["JPN"],
        {"ox": {"price_usd_per_t": 1200.0, "damage_usd_per_t": 37.0}},
        costs={"capital_cost_rate": 0.05, "holding_cost_rate": 0.05, "release_rate": 1.0},
    )
    sc = make_scenarios(demand.reshape(n, 1, 1, 1), None, ["JPN"], ["ox"])
    solution = build_model(cfg, sc).solve()
    c, d = 10.0, 37.0
    fractile = (d - c) / d  # c_u / (c_u + c_o) with c_u = d - c, c_o = c
    expected = np.quantile(demand, fractile, method="inverted_cdf")
    assert float(solution.holdings.item()) == pytest.approx(expected, rel=1e-7)
    cost = c * expected + d * np.maximum(demand - expected, 0).mean()
    assert solution.objective_usd == pytest.approx(cost, rel=1e-7)


def test_vss_and_evpi_of_the_newsvendor_match_their_closed_forms() -> None:
    demand = np.array([0.0, 10.0, 20.0, 60.0, 110.0])
    p = np.array([0.3, 0.2, 0.2, 0.2, 0.1])
    cfg = config(
        ["JPN"],
        {"ox": {"price_usd_per_t": 1200.0, "damage_usd_per_t": 37.0}},
        costs={"capital_cost_rate": 0.05, "holding_cost_rate": 0.05, "release_rate": 1.0},
    )
    sc = make_scenarios(demand.reshape(5, 1, 1, 1), p, ["JPN"], ["ox"])
    report = compare_arrangements(cfg, sc, rule=False)
    c, d = 10.0, 37.0
    mean = float(p @ demand)  # the mean-value plan holds the mean shortfall
    eev = c * mean + d * float(p @ np.maximum(demand - mean, 0))
    wait_and_see = c * mean  # with perfect information each case holds its own shortfall
    assert report.mean_value_plan.objective_usd == pytest.approx(eev, rel=1e-7)
    assert report.perfect_information.objective_usd == pytest.approx(wait_and_see, rel=1e-7)
    assert report.value_of_stochastic_solution == pytest.approx(
        eev - report.joint.objective_usd, rel=1e-7
    )
    assert report.value_of_stochastic_solution > 0
    assert report.expected_value_of_perfect_information > 0


def test_cvar_term_equals_the_tail_mean_of_the_second_stage_cost() -> None:
    rng = np.random.default_rng(5)
    demand = rng.uniform(0, 100, 20)
    cfg = config(
        ["JPN"],
        {"ox": {"price_usd_per_t": 1200.0, "damage_usd_per_t": 37.0}},
        costs={"capital_cost_rate": 0.05, "holding_cost_rate": 0.05, "release_rate": 1.0},
        risk={"cvar_alpha": 0.9, "risk_weight": 2.0},
    )
    sc = make_scenarios(demand.reshape(20, 1, 1, 1), None, ["JPN"], ["ox"])
    solution = build_model(cfg, sc).solve()
    held = float(solution.holdings.item())
    loss = 37.0 * np.maximum(demand - held, 0)
    tail = np.sort(loss)[-2:].mean()  # the worst 10 % of 20 equiprobable cases
    assert solution.cvar_loss_usd == pytest.approx(tail, rel=1e-7, abs=1e-6)
    expected = 10.0 * held + loss.mean() + 2.0 * tail
    assert solution.objective_usd == pytest.approx(expected, rel=1e-7)
    neutral = build_model(
        cfg.model_copy(update={"risk": cfg.risk.model_copy(update={"risk_weight": 0.0})}), sc
    ).solve()
    assert held >= float(neutral.holdings.item()) - 1e-6  # risk aversion never holds less


# --- brute force ---------------------------------------------------------------------------


def _second_stage(h: tuple[int, int], need: tuple[int, int], d: float, tau: float) -> float:
    """Hand-solved second stage (one month, whole stock releasable): each ally uses its own
    stock first, then ships its surplus to the other at ``tau`` per tonne if ``tau < d``."""
    own = [min(h[i], need[i]) for i in range(2)]
    surplus = [h[i] - own[i] for i in range(2)]
    deficit = [need[i] - own[i] for i in range(2)]
    cost = 0.0
    for i in range(2):
        moved = min(surplus[1 - i], deficit[i]) if tau < d else 0
        cost += tau * moved + d * (deficit[i] - moved)
    return cost


def test_two_country_case_matches_brute_force_enumeration() -> None:
    needs = np.array([[6, 0], [0, 4], [3, 3], [0, 0]], dtype=float)
    p = np.array([0.2, 0.3, 0.1, 0.4])
    c, d, tau = 1.5, 8.0, 0.5  # USD/t: holding 180 x 0.1 / 12, damage, freight
    cfg = config(
        ["USA", "JPN"],
        {"ox": {"price_usd_per_t": 180.0, "damage_usd_per_t": d}},
        costs={
            "capital_cost_rate": 0.05,
            "holding_cost_rate": 0.05,
            "release_rate": 1.0,
            "transfer_cost_usd_per_t": tau,
        },
    )
    sc = make_scenarios(needs.reshape(4, 1, 2, 1), p, ["USA", "JPN"], ["ox"])
    solution = build_model(cfg, sc, transfers=True).solve()
    best = min(
        c * (hu + hj)
        + sum(
            pk * _second_stage((hu, hj), (int(n[0]), int(n[1])), d, tau)
            for pk, n in zip(p, needs, strict=True)
        )
        for hu, hj in itertools.product(range(8), range(8))
    )
    assert solution.objective_usd == pytest.approx(best, rel=1e-7)


# --- laws of cooperation -------------------------------------------------------------------

COOP = {
    "capital_cost_rate": 0.05,
    "holding_cost_rate": 0.02,
    "release_rate": 0.5,
    "transfer_cost_usd_per_t": 50.0,
}


@settings(max_examples=8, deadline=None)
@given(
    shortfall=st.lists(st.floats(0, 100), min_size=2 * 2 * 2 * 2, max_size=2 * 2 * 2 * 2),
    weight=st.floats(0.1, 0.9),
    risk=st.sampled_from([0.0, 0.5]),
)
def test_joint_never_costs_more_than_alone(
    shortfall: list[float], weight: float, risk: float
) -> None:
    cfg = config(
        ["USA", "JPN"],
        {"ox": {"price_usd_per_t": 1000.0}, "mag": {"price_usd_per_t": 3000.0}},
        costs=COOP,
        risk={"risk_weight": risk},
    )
    values = np.array(shortfall).reshape(2, 2, 2, 2)
    sc = make_scenarios(values, np.array([weight, 1 - weight]), ["USA", "JPN"], ["ox", "mag"])
    joint = build_model(cfg, sc, transfers=True).solve().objective_usd
    alone = sum(solve_coalition(cfg, sc, [a]).objective_usd for a in ("USA", "JPN"))
    assert joint <= alone + 1e-6 * (1 + abs(alone))


def asymmetric_case(allies: list[str]) -> tuple[Any, Any]:
    """Each scenario hits one ally only: pooling one stock covers whoever is hit."""
    n = len(allies)
    values = np.zeros((n, 3, n, 1))
    for s in range(n):
        values[s, :, s, 0] = [40.0 + 10 * s, 20.0, 10.0]
    cfg = config(allies, {"mag": {"price_usd_per_t": 50_000.0}}, costs=COOP)
    p = np.linspace(1.0, 2.0, n)
    return cfg, make_scenarios(values, p / p.sum(), allies, ["mag"])


def test_joint_is_strictly_cheaper_when_disruptions_are_asymmetric() -> None:
    cfg, sc = asymmetric_case(["USA", "JPN"])
    report = compare_arrangements(cfg, sc, rule=False)
    assert report.value_of_cooperation > 0.05 * report.alone_cost
    assert report.joint.holdings.sum() < sum(s.holdings.sum() for s in report.alone.values())


@pytest.mark.parametrize("allies", [["USA", "JPN"], ["USA", "JPN", "AUS"]])
def test_shapley_and_proportional_splits_leave_no_ally_worse_off(allies: list[str]) -> None:
    cfg, sc = asymmetric_case(allies)
    report = compare_arrangements(cfg, sc, rule=False)
    assert report.shapley_split is not None
    assert sum(report.shapley_split.values()) == pytest.approx(report.joint.objective_usd)
    assert sum(report.proportional_split.values()) == pytest.approx(report.joint.objective_usd)
    for a in allies:
        alone = report.alone[a].objective_usd
        assert report.shapley_split[a] <= alone + 1e-6 * alone
        assert report.proportional_split[a] <= alone + 1e-6 * alone
    assert report.value_of_stochastic_solution >= -1e-6 * report.joint.objective_usd
    assert report.expected_value_of_perfect_information >= -1e-6 * report.joint.objective_usd


def test_shapley_of_an_additive_game_is_each_players_own_cost() -> None:
    own = {"A": 1.0, "B": 2.0, "C": 4.0}
    costs = {
        frozenset(s): sum(own[i] for i in s)
        for r in range(1, 4)
        for s in itertools.combinations(own, r)
    }
    assert shapley(costs, list(own)) == pytest.approx(own)


# --- rule of thumb, errors ------------------------------------------------------------------


def test_rule_of_thumb_holds_sixty_days_of_consumption() -> None:
    assert rule_days_from_data()[0] == 60.0
    cfg = config(
        {
            "USA": {"consumption_t_per_year": {"ox": 365.0}},
            "JPN": {"consumption_t_per_year": {"ox": 730.0}},
        },
        {"ox": {"price_usd_per_t": 1000.0}},
    )
    sc = make_scenarios(np.full((1, 2, 2, 1), 5.0), None, ["USA", "JPN"], ["ox"])
    report = compare_arrangements(cfg, sc)
    assert report.rule is not None
    assert report.rule.holdings.values.ravel() == pytest.approx([60.0, 120.0])
    assert report.rule.holdings_days.values.ravel() == pytest.approx([60.0, 60.0])


def test_infeasible_model_reports_highs_diagnosis() -> None:
    cfg = config(
        {"JPN": {"acquisition_budget_usd": 10_000.0}},
        {"ox": {"price_usd_per_t": 1000.0}},
    )
    sc = make_scenarios(np.full((1, 1, 1, 1), 5.0), None, ["JPN"], ["ox"])
    model = build_model(cfg, sc)
    model.model.add_constraints(model.holding >= 100.0, name="user_minimum")
    with pytest.raises(InfeasibleError, match=r"infeasible.*check floors"):
        model.solve()


def test_unbounded_model_reports_highs_diagnosis() -> None:
    cfg = config(["JPN"], {"ox": {"price_usd_per_t": 1000.0}})
    sc = make_scenarios(np.full((1, 1, 1, 1), 5.0), None, ["JPN"], ["ox"])
    model = build_model(cfg, sc)
    free = model.model.add_variables(lower=-np.inf, name="user_free")
    model.model.objective = model.model.objective + free  # a cost term without a bound
    with pytest.raises(InfeasibleError, match=r"model status 'Unbounded'.*without limit"):
        model.solve()


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"costs": {"release_rate": 1.5}}, "costs.release_rate"),
        ({"allies": {"usa": {}}}, "allies.usa"),
        ({"allies": {"USA": {"existing_t": {"gold": 1}}}}, "allies.USA.existing_t.gold"),
        ({"materials": {"ox": {"price_usd_per_t": -3}}}, "materials.ox.price_usd_per_t"),
    ],
)
def test_bad_config_values_name_the_field(patch: dict[str, Any], field: str) -> None:
    raw = {
        "name": "bad",
        "allies": {"USA": {}},
        "materials": {"ox": {"price_usd_per_t": 1.0}},
        "scenarios": {"source": "explicit", "cases": [{"probability": 1.0, "shortfall_t": {}}]},
        **patch,
    }
    with pytest.raises(ScenarioError, match=field.replace(".", r"\.")):
        parse_config(raw)


# --- scenarios from the engine --------------------------------------------------------------


def test_engine_scenarios_and_kmedoids_reduction() -> None:
    scenario = load_scenario(EXAMPLES / "scenarios" / "china_licensing_all.yaml")
    full = engine_scenarios(scenario, ["USA", "JPN"], {"oxide": "separation"}, 30, 1)
    assert full.shortfall.shape == (30, 24, 2, 1)
    assert (full.shortfall.values >= 0).all()
    assert full.shortfall.values.max() > 0
    reduced = reduce_kmedoids(full, 5)
    assert reduced.n_scenarios <= 5
    assert float(reduced.probability.sum()) == pytest.approx(1.0)
    # medoids are members of the ensemble
    for s in range(reduced.n_scenarios):
        path = reduced.shortfall.isel(scenario=s).values
        assert any(np.array_equal(path, full.shortfall.isel(scenario=j).values) for j in range(30))
    assert reduce_kmedoids(full, 30) is full


def test_sensitivity_to_k_ends_at_the_full_ensemble(tmp_path: Path) -> None:
    text = (EXAMPLES / "stockpile" / "us_japan_targeted_bans.yaml").read_text()
    text = text.replace("samples: 300", "samples: 24").replace(
        "file: scenarios/", f"file: {EXAMPLES / 'stockpile' / 'scenarios'}/"
    )
    path = tmp_path / "small.yaml"
    path.write_text(text)
    cfg = load_config(path)
    rows = sensitivity_to_k(cfg, [2, 24])
    assert list(rows["kept"]) == [2.0, 24.0]
    full = build_model(cfg, scenarios_from_config(cfg, k=24)).solve()
    assert rows["joint_cost_usd"].iloc[-1] == pytest.approx(full.objective_usd)
    assert (rows["value_of_cooperation_usd"] >= -1e-6 * rows["alone_cost_usd"]).all()
    assert rows["holding_JPN_magnet_t"].iloc[-1] == pytest.approx(
        float(full.holdings.sel(ally="JPN", material="magnet")), rel=1e-6, abs=1e-6
    )


def test_example_config_solves_with_engine_scenarios() -> None:
    cfg = load_config(EXAMPLES / "stockpile" / "us_japan_rare_earths.yaml")
    sc = scenarios_from_config(cfg, k=4)
    solution = build_model(cfg, sc).solve()
    assert set(solution.to_dict()["holdings"]) == {"USA", "JPN"}
    assert solution.objective_usd > 0


# --- command line ---------------------------------------------------------------------------

EXPLICIT_CONFIG = """
name: two-allies
allies:
  USA: {consumption_t_per_year: {ox: 365}}
  JPN: {consumption_t_per_year: {ox: 730}}
materials:
  ox: {price_usd_per_t: 50000}
costs: {release_rate: 0.5, transfer_cost_usd_per_t: 50}
scenarios:
  source: explicit
  cases:
    - {probability: 0.4, shortfall_t: {USA: {ox: [40, 20, 10]}}}
    - {probability: 0.3, shortfall_t: {JPN: {ox: [50, 20, 10]}}}
    - {probability: 0.3, shortfall_t: {}}
"""


def test_cli_json_has_documented_keys_and_writes_out(tmp_path: Path) -> None:
    path = tmp_path / "stockpile.yaml"
    path.write_text(EXPLICIT_CONFIG, encoding="utf-8")
    out = tmp_path / "out"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "critmin",
            "stockpile",
            str(path),
            "--format",
            "json",
            "--out",
            str(out),
            "--risk-weight",
            "0.2",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    for key in ("holdings", "total_cost", "expected_shortfall", "value_of_cooperation"):
        assert key in document
    assert set(document["holdings"]) == {"USA", "JPN"}
    assert document["value_of_cooperation"] > 0
    assert document["risk"]["risk_weight"] == 0.2
    assert json.loads((out / "stockpile.json").read_text()) == document
    assert (out / "holdings.csv").is_file()


def test_cli_bad_config_is_one_line_naming_the_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(EXPLICIT_CONFIG.replace("release_rate: 0.5", "release_rate: 2"))
    result = subprocess.run(
        [sys.executable, "-m", "critmin", "stockpile", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "costs.release_rate = 2" in result.stderr
    assert "Traceback" not in result.stderr


def test_worked_example_of_the_docs_reproduces_its_numbers() -> None:
    cfg = load_config(EXAMPLES / "stockpile" / "us_japan_targeted_bans.yaml")
    solution = build_model(cfg, scenarios_from_config(cfg)).solve()
    # docs/methods/stockpile.md, section 6: joint cost 5.37 million USD; JPN holds 84.6 t of
    # magnets (1.54 days), the US 226.5 t (9.21 days): the US holds more than Japan, whose
    # magnet makers supply most of its use
    assert solution.objective_usd == pytest.approx(5.3704e6, rel=1e-3)
    magnets = solution.holdings.sel(material="magnet")
    assert float(magnets.sel(ally="JPN")) == pytest.approx(84.64, rel=1e-3)
    assert float(magnets.sel(ally="USA")) == pytest.approx(226.49, rel=1e-3)
    days = solution.holdings_days.sel(material="magnet")
    assert float(days.sel(ally="JPN")) == pytest.approx(1.54, abs=0.005)
    assert float(days.sel(ally="USA")) == pytest.approx(9.21, abs=0.005)


def test_value_of_cooperation_splits_exactly_into_its_drivers() -> None:
    cfg, sc = asymmetric_case(["USA", "JPN"])
    report = compare_arrangements(cfg, sc, rule=False)
    drivers = report.drivers
    assert drivers is not None
    parts = (
        drivers["holdings_saved_usd"] + drivers["damage_avoided_usd"] - drivers["freight_paid_usd"]
    )
    assert parts == pytest.approx(report.value_of_cooperation, rel=1e-9)
    assert drivers["freight_paid_usd"] > 0
    assert drivers["value_without_freight_usd"] >= report.value_of_cooperation - 1e-6
    # each scenario hits one ally only: all of each ally's shortfall falls while the other
    # is unhurt; sizes: the shares of the allies' expected tonnes short
    p = sc.probability.values
    expected = [p[0] * 70.0, p[1] * 80.0]
    for i, a in enumerate(["USA", "JPN"]):
        assert drivers["exposure"][a]["share_while_partners_unhurt"] == pytest.approx(1.0)
        assert drivers["exposure"][a]["share_of_allied_shortfall"] == pytest.approx(
            expected[i] / sum(expected), rel=1e-12
        )
