"""Stockpile confidential mode (issue 20): each ally's data read only by its own process, the
certified gap to the centralised optimum, privacy audited; and one model reused for every
arrangement with the results of a model built for each."""

from __future__ import annotations

import json
import re
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xarray as xr

from critmin.errors import InputError
from critmin.optimisation.stockpile import build_model, make_scenarios, parse_config
from critmin.optimisation.stockpile.ally import read_private
from critmin.optimisation.stockpile.arrangements import (
    compare_arrangements,
    rule_holdings,
    solve_coalition,
)
from critmin.optimisation.stockpile.config import load_config
from critmin.optimisation.stockpile.decomposed import (
    coordinate,
    decomposed_solve,
    write_party_files,
)
from critmin.optimisation.stockpile.scenarios import scenarios_from_config
from tests.test_stockpile import EXPLICIT_CONFIG

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
COSTS = {"release_rate": 0.5, "transfer_cost_usd_per_t": 50.0}


def config(allies: list[str], materials: dict[str, Any], **extra: Any) -> Any:
    return parse_config(
        {
            "name": "confidential",
            "allies": {a: {} for a in allies},
            "materials": materials,
            "scenarios": {"source": "explicit", "cases": [{"probability": 1.0, "shortfall_t": {}}]},
            **extra,
        }
    )


def asymmetric(allies: list[str], sectors: bool = False) -> tuple[Any, Any]:
    """Each scenario hits one ally: pooling one stock covers whoever is hit."""
    n = len(allies)
    values = np.zeros((n + 1, 3, n, 1))
    for s in range(n):
        values[s, :, s, 0] = [40.0 + 10 * s, 20.0, 10.0]
    material: dict[str, Any] = {"price_usd_per_t": 50_000.0}
    if sectors:
        material["sectors"] = {
            "motors": {"share": 0.2, "damage_usd_per_t": 2_000_000.0},
            "other": {"share": 0.8, "damage_usd_per_t": 400_000.0},
        }
    p = np.linspace(1.0, 2.0, n + 1)
    return config(allies, {"mag": material}, costs=COSTS), make_scenarios(
        values, p / p.sum(), allies, ["mag"]
    )


def small_engine_config(
    tmp_path: Path, example: str = "us_japan_targeted_bans", samples: int = 24, k: int = 8
) -> Any:
    """A shipped engine example on fewer samples and kept scenarios (CI-sized; default: the
    targeted-bans example on 24 samples reduced to 8)."""
    text = (EXAMPLES / "stockpile" / f"{example}.yaml").read_text()
    text = re.sub(r"samples: \d+", f"samples: {samples}", text)
    text = re.sub(r"\bk: \d+", f"k: {k}", text)
    text = text.replace("file: scenarios/", f"file: {EXAMPLES / 'stockpile' / 'scenarios'}/")
    path = tmp_path / f"{example}-small.yaml"
    path.write_text(text)
    return load_config(path)


def assert_only_flows_and_costs_crossed(
    result: Any, flow_shape: tuple[int, ...], materials: int
) -> None:
    """What crossed: flows one way; the other way a cost, the cost of each material and
    marginal costs of the same flows (names and shapes of every logged message)."""
    kinds = {r.kind for r in result.messages}
    assert kinds == {"ready", "propose", "value", "finish", "settled", "stop"}
    for r in result.messages:
        arrays = dict(r.arrays)
        if r.direction.startswith("from"):
            assert set(r.scalars) <= {"cost_usd"}
            assert set(arrays) <= {"marginal_exports", "marginal_imports", "cost_by_material_usd"}
            assert arrays.pop("cost_by_material_usd", (materials,)) == (materials,)
        else:
            assert r.scalars == ()
            assert set(arrays) <= {"exports", "imports"}
        assert set(arrays.values()) <= {flow_shape}


@pytest.mark.parametrize(
    ("allies", "sectors"),
    [(["USA", "JPN"], False), (["USA", "JPN", "AUS"], False), (["USA", "JPN"], True)],
)
def test_confidential_mode_certifies_the_centralised_cost(allies: list[str], sectors: bool) -> None:
    cfg, sc = asymmetric(allies, sectors)
    central = build_model(cfg, sc, transfers=True).solve().objective_usd
    alone = sum(solve_coalition(cfg, sc, [a]).objective_usd for a in allies)
    result = decomposed_solve(cfg, sc, tolerance=1e-6)
    assert result.converged
    # a consistent plan never costs less than the optimum; the bound never exceeds it
    assert result.lower_bound_usd <= central * (1 + 1e-9)
    assert central <= result.cost_usd * (1 + 1e-9)
    assert result.cost_usd <= central * (1 + 1e-6)
    assert sum(result.alone_cost_by_ally_usd.values()) == pytest.approx(alone, rel=1e-9)
    assert result.value_of_cooperation_usd > 0.05 * alone
    # every flow agreed is shipped by one ally and received by the other
    assert (result.flows.values >= 0).all()
    assert sum(result.cost_by_ally_usd.values()) == pytest.approx(result.cost_usd, rel=1e-12)


def test_small_engine_config_converges_within_its_tolerance_deterministically(
    tmp_path: Path,
) -> None:
    """Two materials (one cut per ally and material), market damages per scenario and month;
    the same run twice gives the same result bit for bit."""
    cfg = small_engine_config(tmp_path)
    sc = scenarios_from_config(cfg)
    central = build_model(cfg, sc, transfers=True).solve().objective_usd
    result = decomposed_solve(cfg, sc, tolerance=1e-4)
    assert result.converged
    assert result.gap <= 1e-4
    assert result.lower_bound_usd <= central * (1 + 1e-9)
    assert central <= result.cost_usd * (1 + 1e-9)
    assert result.cost_usd - central <= 1e-4 * result.cost_usd
    again = decomposed_solve(cfg, sc, tolerance=1e-4)
    assert (again.cost_usd, again.lower_bound_usd, again.iterations) == (
        result.cost_usd,
        result.lower_bound_usd,
        result.iterations,
    )
    np.testing.assert_array_equal(again.flows.values, result.flows.values)


@pytest.mark.parametrize("acquisition_months", [None, 12.0])
def test_confidential_mode_prices_damage_with_the_centralised_loss_curves(
    tmp_path: Path, acquisition_months: float | None
) -> None:
    """Gallium (60 engine samples, 10 kept): prices above sqrt 2, so the convex loss of the
    shortfall left differs from the linear damage (by 5.9 % of the optimum here). Each ally's
    LP is its part of the centralised one (alone, to 1e-9), the plan is within the certified
    tolerance of the centralised optimum with the bound below it, with and without the
    acquisition premium, and only flows and costs cross."""
    cfg = small_engine_config(tmp_path, "us_japan_gallium", samples=60, k=10)
    if acquisition_months is not None:
        costs = cfg.costs.model_copy(update={"acquisition_months": acquisition_months})
        cfg = cfg.model_copy(update={"costs": costs})
    sc = scenarios_from_config(cfg)
    assert sc.curve_width is not None
    central = build_model(cfg, sc, transfers=True).solve().objective_usd
    linear = replace(sc, curve_width=None, curve_slope=None, curve_sector_share=None)
    linear_central = build_model(cfg, linear, transfers=True).solve().objective_usd
    assert linear_central > central * 1.03  # the test tells the curve from the line
    result = decomposed_solve(cfg, sc, tolerance=1e-4)
    assert result.converged
    assert result.lower_bound_usd <= central * (1 + 1e-9)
    assert central <= result.cost_usd * (1 + 1e-9)
    assert result.cost_usd - central <= 1e-4 * result.cost_usd
    alone_total = 0.0
    for a in cfg.allies:
        alone = solve_coalition(cfg, sc, [a]).objective_usd
        assert result.alone_cost_by_ally_usd[a] == pytest.approx(alone, rel=1e-9)
        alone_total += alone
    # the stop certifies that the plan captures 99 % of the value of cooperation, and the
    # certificate holds against the centralised value (its bound lies above the true value)
    assert result.captured_share_lower_bound >= 0.99
    if alone_total - central > 1e-9 * alone_total:
        captured = result.value_of_cooperation_usd / (alone_total - central)
        assert captured >= result.captured_share_lower_bound - 1e-9
    flow_shape = (sc.n_scenarios, sc.shortfall.sizes["month"], 1, 1)
    assert_only_flows_and_costs_crossed(result, flow_shape, 1)


def test_coordinator_never_opens_an_allys_file_nor_receives_its_quantities(
    tmp_path: Path,
) -> None:
    cfg, sc = asymmetric(["USA", "JPN"])
    public, private = write_party_files(cfg, sc, tmp_path / "parties")
    opened: list[str] = []
    watching = [False]

    def audit(event: str, args: tuple[Any, ...]) -> None:
        if watching[0] and event == "open" and isinstance(args[0], str | bytes | Path):
            opened.append(
                str(
                    Path(
                        str(args[0] if not isinstance(args[0], bytes) else args[0].decode())
                    ).resolve()
                )
            )

    sys.addaudithook(audit)  # hooks cannot be removed: this one only records while watching
    watching[0] = True
    try:
        result = coordinate(public, private, tolerance=1e-6)
    finally:
        watching[0] = False
    secret = {str(p.resolve()) for p in private.values()}
    assert str(public.resolve()) in opened  # the audit sees the coordinator's own reads
    assert not secret & set(opened)
    # each ally read its own file and wrote its own result there
    for a, path in result.result_files.items():
        plan = json.loads(path.read_text())
        assert plan["ally"] == a
        assert plan["cost_usd"] == pytest.approx(result.cost_by_ally_usd[a], rel=1e-12)
    # what crossed: flows one way; the other way a cost, the cost of each material (one
    # here) and marginal costs of the same flows
    flow_shape = (sc.n_scenarios, sc.shortfall.sizes["month"], 1, 1)
    assert_only_flows_and_costs_crossed(result, flow_shape, 1)


PER_ALLY = ("shortfall", "sector_shortfall", "damage_usd_per_t", "rationed_usd_per_t",
            "sector_share", "consumption_t_per_year", "curve_width", "curve_slope",
            "curve_sector_share", "curve_gap_usd")  # fmt: skip


def test_an_allys_private_file_carries_its_market_damages_and_nobody_elses(
    tmp_path: Path,
) -> None:
    """Engine scenarios: each ally's file holds its own sector shortfalls, market damages
    per tonne and loss curves of the shortfall left (read back exactly), and changing the
    partner's data leaves it unchanged."""
    cfg = small_engine_config(tmp_path)
    sc = scenarios_from_config(cfg)
    assert sc.damage_usd_per_t is not None
    assert sc.sector_shortfall is not None
    assert sc.curve_width is not None
    _, private = write_party_files(cfg, sc, tmp_path / "parties")

    def scaled(a: xr.DataArray | None, who: str) -> xr.DataArray | None:
        if a is None:
            return None
        return a * xr.where(a["ally"] == who, 1.0, 2.0)

    for a in ("USA", "JPN"):
        own = read_private(private[a])
        assert list(own.scenarios.shortfall["ally"].values) == [a]
        mine = sc.for_allies([a])
        for name in PER_ALLY:
            got, expected = getattr(own.scenarios, name), getattr(mine, name)
            xr.testing.assert_identical(got.drop_attrs(), expected.drop_attrs())
        for name in ("price_usd_per_t", "world_output_t_per_month", "probability"):
            xr.testing.assert_identical(getattr(own.scenarios, name).drop_attrs(),
                                        getattr(sc, name).drop_attrs())  # fmt: skip
        for name in ("elasticity", "supply_elasticity", "source", "commodity"):
            assert getattr(own.scenarios, name) == getattr(sc, name)
        # the partner's data changed: this ally's file does not
        other = replace(sc, **{name: scaled(getattr(sc, name), a) for name in PER_ALLY})
        _, again = write_party_files(cfg, other, tmp_path / f"other-{a}")
        with np.load(private[a]) as first, np.load(again[a]) as second:
            assert first.files == second.files
            for key in first.files:
                np.testing.assert_array_equal(first[key], second[key])
        # and the ally's own LP costs what it costs alone in the centralised model
        assert own.partners == [b for b in ("USA", "JPN") if b != a]
        alone = solve_coalition(cfg, sc, [a]).objective_usd
        by_itself = build_model(own.config, own.scenarios).solve().objective_usd
        assert by_itself == pytest.approx(alone, rel=1e-9)


def test_one_scenario_with_a_risk_weight_is_exact_and_more_are_refused() -> None:
    values = np.zeros((1, 3, 2, 1))
    values[0, :, 0, 0] = [30.0, 20.0, 10.0]
    cfg = config(
        ["USA", "JPN"],
        {"mag": {"price_usd_per_t": 50_000.0}},
        costs=COSTS,
        risk={"risk_weight": 0.5},
    )
    one = make_scenarios(values, None, ["USA", "JPN"], ["mag"])
    central = build_model(cfg, one, transfers=True).solve().objective_usd
    result = decomposed_solve(cfg, one, tolerance=1e-6)
    assert result.cost_usd == pytest.approx(central, rel=1e-6)
    _, two = asymmetric(["USA", "JPN"])
    with pytest.raises(InputError, match=r"risk\.risk_weight = 0\.5"):
        decomposed_solve(cfg, two)


def test_caps_and_single_allies_are_refused_naming_the_field() -> None:
    cfg, sc = asymmetric(["USA", "JPN"])
    capped = cfg.model_copy(
        update={
            "allies": {
                **cfg.allies,
                "JPN": cfg.allies["JPN"].model_copy(update={"max_t": {"mag": 5.0}}),
            }
        }
    )
    with pytest.raises(InputError, match=r"allies\.JPN\.max_t"):
        decomposed_solve(capped, sc)
    alone_cfg, alone_sc = asymmetric(["USA"])
    with pytest.raises(InputError, match="at least two allies"):
        decomposed_solve(alone_cfg, alone_sc)


# --- one model for every arrangement -------------------------------------------------------


def test_reused_model_gives_the_results_of_a_model_built_for_each_arrangement() -> None:
    cfg, sc = asymmetric(["USA", "JPN", "AUS"], sectors=True)
    cfg = cfg.model_copy(update={"rule_days": 30.0})
    allies = list(cfg.allies)
    consumption = {a: {"mag": 100.0 * (i + 1)} for i, a in enumerate(allies)}
    cfg = cfg.model_copy(
        update={
            "allies": {
                a: spec.model_copy(update={"consumption_t_per_year": consumption[a]})
                for a, spec in cfg.allies.items()
            }
        }
    )
    report = compare_arrangements(cfg, sc)
    for a in allies:
        built = solve_coalition(cfg, sc, [a])
        assert report.alone[a].objective_usd == pytest.approx(built.objective_usd, rel=1e-9)
        assert float(report.alone[a].holdings.sum()) == pytest.approx(
            float(built.holdings.sum()), rel=1e-7, abs=1e-9
        )
    pair = solve_coalition(cfg, sc, ["USA", "JPN"]).objective_usd
    assert report.shapley_split is not None
    rebuilt = build_model(cfg, sc, transfers=False, fixed_holdings=rule_holdings(cfg, sc))
    assert report.rule is not None
    assert report.rule.objective_usd == pytest.approx(rebuilt.solve().objective_usd, rel=1e-9)
    mean = report.mean_value_plan
    fixed = build_model(cfg, sc, transfers=True, fixed_holdings=mean.holdings).solve()
    assert mean.objective_usd == pytest.approx(fixed.objective_usd, rel=1e-9)
    # the Shapley split rests on coalition costs from the reused model: check one by hand
    model = build_model(cfg, sc, transfers=True)
    solved = model.solve_variant(groups=[["USA", "JPN"], ["AUS"]])
    assert float(solved.cost_by_ally_usd.sel(ally=["USA", "JPN"]).sum()) == pytest.approx(
        pair, rel=1e-9
    )
    # and the model is restored after each variant
    assert model.solve().objective_usd == pytest.approx(report.joint.objective_usd, rel=1e-12)


def test_cli_confidential_reports_the_certified_plan_and_keeps_party_files(
    tmp_path: Path,
) -> None:
    from typer.testing import CliRunner

    from critmin.cli.app import app

    path = tmp_path / "stockpile.yaml"
    path.write_text(EXPLICIT_CONFIG, encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["stockpile", str(path), "--confidential", "--format", "json", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.output[result.output.index("{") :])
    central = build_model(load_config(path), scenarios_from_config(load_config(path))).solve()
    assert document["mode"] == "confidential"
    assert document["converged"]
    assert document["cost"] == pytest.approx(central.objective_usd, rel=1e-4)
    assert document["value_of_cooperation"] > 0
    assert json.loads((out / "confidential.json").read_text()) == document
    for a in ("USA", "JPN"):
        assert json.loads(Path(document["result_files"][a]).read_text())["ally"] == a
    bad = CliRunner().invoke(app, ["stockpile", str(path), "--confidential", "--risk-weight", "1"])
    # the command raises the one-line InputError that critmin's entry point turns into exit 2
    assert isinstance(bad.exception, InputError)
    assert "risk.risk_weight = 1.0" in str(bad.exception)


def test_the_coordinators_model_drops_round_off_marginal_costs() -> None:
    """Reduced costs below the allies' dual tolerance (round-off, seen on the targeted-bans
    config; HiGHS itself drops only those below 1e-9) are not written into a cut; the cut
    keeps its real slope and the model its minimum."""
    from critmin.optimisation.stockpile.decomposed import _Master

    master = _Master(3, 1, 4.0)
    master.add_cut(0, 10.0, np.array([-2.0, 5e-8, -3e-13]), np.array([1.0, 2.0, 0.0]))
    assert master.bound.getNumNz() == 2  # z_0 and the ally's cost v_0
    z, value = master.lower_bound()
    # v >= 10 - 2 (z_0 - 1): smallest at z_0 = 4, v = 4
    assert z[0] == pytest.approx(4.0, abs=1e-12)
    assert value == pytest.approx(4.0, abs=1e-12)


def test_the_level_projection_is_the_nearest_point_at_the_level() -> None:
    """min 1/2 |z - c|^2 s.t. m(z) <= level, checked against its closed form: with one cut
    v >= 10 - 2 z_0 - z_1 and the level 4, the nearest point to c = 0 on 2 z_0 + z_1 >= 6 is
    6 (2, 1) / 5."""
    from critmin.optimisation.stockpile.decomposed import _Master

    master = _Master(3, 1, None)
    master.add_cut(0, 10.0, np.array([-2.0, -1.0, 0.0]), np.zeros(3))
    z = master.project(np.zeros(3), 4.0)
    assert z is not None
    np.testing.assert_allclose(z, [2.4, 1.2, 0.0], atol=1e-7)
