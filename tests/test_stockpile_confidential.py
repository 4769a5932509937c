"""Stockpile confidential mode (issue 20): each ally's data read only by its own process, the
certified gap to the centralised optimum, privacy audited; and one model reused for every
arrangement with the results of a model built for each."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from critmin.errors import InputError
from critmin.optimisation.stockpile import build_model, make_scenarios, parse_config
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


def small_engine_config(tmp_path: Path) -> Any:
    """The targeted-bans example on 24 engine samples reduced to 8 (CI-sized)."""
    text = (EXAMPLES / "stockpile" / "us_japan_targeted_bans.yaml").read_text()
    text = text.replace("samples: 300", "samples: 24").replace("k: 30", "k: 8")
    text = text.replace("file: scenarios/", f"file: {EXAMPLES / 'stockpile' / 'scenarios'}/")
    path = tmp_path / "small.yaml"
    path.write_text(text)
    return load_config(path)


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


def test_small_engine_config_converges_within_its_tolerance(tmp_path: Path) -> None:
    cfg = small_engine_config(tmp_path)
    sc = scenarios_from_config(cfg)
    central = build_model(cfg, sc, transfers=True).solve().objective_usd
    result = decomposed_solve(cfg, sc, tolerance=1e-4)
    assert result.converged
    assert central <= result.cost_usd * (1 + 1e-9)
    assert result.cost_usd - central <= 1e-4 * result.cost_usd


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
    # what crossed: flows one way, a cost and marginal costs of the same flows the other way
    flow_shape = (sc.n_scenarios, sc.shortfall.sizes["month"], 1, 1)
    kinds = {r.kind for r in result.messages}
    assert kinds == {"ready", "propose", "value", "finish", "settled", "stop"}
    for r in result.messages:
        if r.direction.startswith("from"):
            assert set(r.scalars) <= {"cost_usd"}
            assert {name for name, _ in r.arrays} <= {"marginal_exports", "marginal_imports"}
        else:
            assert r.scalars == ()
            assert {name for name, _ in r.arrays} <= {"exports", "imports"}
        assert {shape for _, shape in r.arrays} <= {flow_shape}


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
