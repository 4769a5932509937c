"""Stockpile sectors (issue 6): unmet need per ally x material x sector, damage by sector,
the gallium and germanium examples, the effect of K and the Python API."""

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

from critmin.errors import InputError, ScenarioError
from critmin.optimisation.stockpile import build_model, make_scenarios, parse_config
from critmin.optimisation.stockpile.api import run_stockpile
from critmin.optimisation.stockpile.arrangements import solve_coalition
from critmin.optimisation.stockpile.config import load_config
from critmin.optimisation.stockpile.damage import damage_table, sector_damage
from critmin.optimisation.stockpile.scenarios import engine_scenarios, full_scenarios
from critmin.optimisation.stockpile.sectors import resolve_sectors
from critmin.simulation.model import scenario_model
from critmin.simulation.scenario import load_scenario

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
ONE_MONTH = {"capital_cost_rate": 0.05, "holding_cost_rate": 0.05, "release_rate": 1.0}


def explicit(allies: list[str], materials: dict[str, Any], **extra: Any) -> Any:
    return parse_config(
        {
            "name": "sectors",
            "allies": {a: {} for a in allies},
            "materials": materials,
            "scenarios": {"source": "explicit", "cases": [{"probability": 1.0, "shortfall_t": {}}]},
            **extra,
        }
    )


def test_stock_serves_the_dearer_sector_first_as_the_closed_form_says() -> None:
    """One ally, one month: cost(h) = c h + E[d1 (a S - h)+ + d2 ((1-a) S - (h - a S)+)+] is
    convex piecewise linear with kinks at a S_i and S_i; the LP must find its minimum."""
    rng = np.random.default_rng(11)
    demand = rng.gamma(2.0, 40.0, 25)
    a, d1, d2, c = 0.3, 90.0, 25.0, 10.0  # share and damages of two sectors, holding USD/t
    cfg = explicit(
        ["JPN"],
        {
            "ox": {
                "price_usd_per_t": 1200.0,
                "sectors": {
                    "motors": {"share": a, "damage_usd_per_t": d1},
                    "other": {"share": 1 - a, "damage_usd_per_t": d2},
                },
            }
        },
        costs=ONE_MONTH,
    )
    sc = make_scenarios(demand.reshape(25, 1, 1, 1), None, ["JPN"], ["ox"])
    solution = build_model(cfg, sc).solve()

    def cost(h: float) -> float:
        served1 = np.minimum(h, a * demand)
        served2 = np.minimum(h - served1, (1 - a) * demand)
        return c * h + float(
            np.mean(d1 * (a * demand - served1) + d2 * ((1 - a) * demand - served2))
        )

    kinks = np.concatenate([[0.0], a * demand, demand])
    best = min(cost(h) for h in kinks)
    assert solution.objective_usd == pytest.approx(best, rel=1e-7)
    # the dearer sector is never short while the cheaper one is served
    by_sector = solution.unmet_by_sector.isel(month=0, ally=0, material=0)
    motors, other = by_sector.sel(sector="motors").values, by_sector.sel(sector="other").values
    assert not np.any((motors > 1e-6) & (other < (1 - a) * demand - 1e-6))
    assert solution.unmet.values.ravel() == pytest.approx(motors + other, abs=1e-9)


def test_two_allies_two_sectors_match_brute_force() -> None:
    needs = np.array([[6, 0], [0, 4], [3, 3]], dtype=float)
    p = np.array([0.3, 0.3, 0.4])
    share, d_hi, d_lo, c, tau = 0.5, 12.0, 4.0, 1.5, 0.5
    cfg = explicit(
        ["USA", "JPN"],
        {
            "ox": {
                "price_usd_per_t": 180.0,
                "sectors": {
                    "hi": {"share": share, "damage_usd_per_t": d_hi},
                    "lo": {"share": 1 - share, "damage_usd_per_t": d_lo},
                },
            }
        },
        costs={**ONE_MONTH, "transfer_cost_usd_per_t": tau},
    )
    sc = make_scenarios(needs.reshape(3, 1, 2, 1), p, ["USA", "JPN"], ["ox"])
    solution = build_model(cfg, sc, transfers=True).solve()

    def second_stage(h: tuple[float, float], need: np.ndarray) -> float:
        """Enumerate shipments in half tonnes; each ally serves its dearer sector first."""
        best = np.inf
        for x01 in np.arange(0, h[0] + 0.25, 0.5):
            for x10 in np.arange(0, h[1] + 0.25, 0.5):
                total = 0.0
                for i, available in enumerate((h[0] - x01 + x10, h[1] - x10 + x01)):
                    hi, lo = share * need[i], (1 - share) * need[i]
                    served_hi = min(available, hi)
                    served_lo = min(available - served_hi, lo)
                    total += d_hi * (hi - served_hi) + d_lo * (lo - served_lo)
                best = min(best, total + tau * (x01 + x10))
        return best

    brute = min(
        c * (hu + hj) + sum(pk * second_stage((hu, hj), n) for pk, n in zip(p, needs, strict=True))
        for hu, hj in itertools.product(np.arange(0, 7.5, 0.5), repeat=2)
    )
    assert solution.objective_usd == pytest.approx(brute, rel=1e-7)


def test_engine_shortfall_is_split_by_the_markets_sector_shares() -> None:
    scenario = load_scenario(EXAMPLES / "stockpile" / "scenarios" / "china_targeted_bans.yaml")
    sc = engine_scenarios(
        scenario, ["USA", "JPN"], {"oxide": "separation", "magnet": "magnet"}, 8, 0
    )
    market = scenario_model(scenario).market
    assert sc.sector_share is not None
    magnet = sc.sector_share.sel(ally="JPN", material="magnet")
    expected = market.sector_split[market.stages.index("magnet"), market.regions.index("JPN")]
    assert magnet.values == pytest.approx(expected)
    assert float(sc.sector_share.sel(ally="USA", material="oxide", sector="direct_use")) == 1.0
    cfg = load_config(EXAMPLES / "stockpile" / "us_japan_targeted_bans.yaml")
    sectors = resolve_sectors(cfg, sc)
    assert sectors.share.sum("sector").values == pytest.approx(1.0)
    # EV motors and wind turbines carry the shipped value-added figures
    table = damage_table().set_index(["commodity", "stage", "sector"])
    for name in ("ev_traction", "wind"):
        value = float(sectors.damage_usd_per_t.sel(material="magnet", sector=name))
        assert value == table.loc[("rare_earths", "magnet", name), "damage_usd_per_t"]
    solution = build_model(cfg, sc).solve()
    totals = solution.expected_shortfall_by_sector_t.sum("sector")
    assert totals.values == pytest.approx(solution.expected_shortfall_t.values, abs=1e-9)


def test_damage_table_rows_are_sourced_and_consistent() -> None:
    table = damage_table()
    assert not table.empty
    for row in table.itertuples():
        assert str(row.value_source_url).startswith("http")
        assert str(row.intensity_source_url).startswith("http")
        derived = row.product_value_usd / (row.material_kg_per_unit / 1000.0)
        assert row.damage_usd_per_t == pytest.approx(derived, rel=1e-6)
    fallback = sector_damage("rare_earths", "magnet", "other_uses", 58_300.0, 10.0)
    assert fallback.usd_per_t == pytest.approx(583_000.0)
    assert fallback.basis.startswith("assumption")
    assert sector_damage("rare_earths", "magnet", "ev_traction", 1.0, 10.0, 5.0).usd_per_t == 5.0


@pytest.mark.parametrize(
    ("sectors", "field"),
    [
        ({"a": {"share": 0.5}, "b": {"share": 0.2}}, "materials.ox: sectors: shares sum"),
        ({"a": {"share": 0.5}, "b": {}}, "materials.ox: sectors: give a share"),
        ({"a": {"share": 1.0, "damage_usd_per_t": -1}}, "materials.ox.sectors.a.damage_usd_per_t"),
    ],
)
def test_bad_sector_values_name_the_field(sectors: dict[str, Any], field: str) -> None:
    with pytest.raises(ScenarioError, match=field.replace(".", r"\.")):
        explicit(["USA"], {"ox": {"price_usd_per_t": 1.0, "sectors": sectors}})


def test_unknown_engine_sector_names_the_field() -> None:
    cfg = load_config(EXAMPLES / "stockpile" / "us_japan_targeted_bans.yaml")
    raw = cfg.model_dump()
    raw["materials"]["magnet"]["sectors"] = {"toys": {"damage_usd_per_t": 1.0}}
    raw["scenarios"]["samples"] = 4
    bad = parse_config(raw)
    with pytest.raises(InputError, match=r"materials\.magnet\.sectors\.toys"):
        resolve_sectors(bad, full_scenarios(bad))


@pytest.mark.parametrize("material", ["gallium", "germanium"])
def test_gallium_and_germanium_examples_give_the_us_a_use_and_a_stock(material: str) -> None:
    cfg = load_config(EXAMPLES / "stockpile" / f"us_japan_{material}.yaml")
    run = run_stockpile(cfg)
    consumption = run.scenarios.consumption_t_per_year
    assert consumption is not None
    assert float(consumption.sel(ally="USA", material=material)) > 10.0  # cited 16 t / 30 t
    holdings = run.report.holdings_frame()
    joint = holdings[holdings["arrangement"] == "joint"].set_index("ally")
    assert joint.loc["USA", "holding_t"] > 0
    assert run.report.value_of_cooperation >= -1e-6 * run.report.alone_cost


def test_run_stockpile_returns_frames_and_the_effect_of_k(tmp_path: Path) -> None:
    text = (EXAMPLES / "stockpile" / "us_japan_gallium.yaml").read_text()
    text = text.replace("samples: 300", "samples: 30").replace(
        "file: scenarios/", f"file: {EXAMPLES / 'stockpile' / 'scenarios'}/"
    )
    path = tmp_path / "ga.yaml"
    path.write_text(text)
    run = run_stockpile(path, k=5, k_sweep=[1, 5, 30])
    assert run.scenarios.n_scenarios <= 5
    assert run.k_sensitivity is not None
    assert list(run.k_sensitivity["kept"]) == [1.0, 5.0, 30.0]
    assert run.k_sensitivity["joint_cost_usd"].iloc[1] == pytest.approx(
        run.report.joint.objective_usd
    )
    costs = run.report.costs_frame().set_index("ally")
    assert costs["split_shapley_usd"].sum() == pytest.approx(run.report.joint.objective_usd)
    summary = run.report.summary()
    assert summary["joint_cost_usd"] == pytest.approx(run.report.joint.objective_usd)
    assert set(run.report.holdings_frame()["arrangement"]) == {"alone", "joint", "rule"}
    with pytest.raises(InputError, match="k = 0"):
        run_stockpile(path, k=0)


def test_cli_k_sweep_and_sector_keys(tmp_path: Path) -> None:
    text = (EXAMPLES / "stockpile" / "us_japan_germanium.yaml").read_text()
    text = text.replace("samples: 300", "samples: 20").replace(
        "file: scenarios/", f"file: {EXAMPLES / 'stockpile' / 'scenarios'}/"
    )
    path = tmp_path / "ge.yaml"
    path.write_text(text)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "critmin",
            "stockpile",
            str(path),
            "-f",
            "json",
            "--k-sweep",
            "2,all",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert [row["kept"] for row in document["k_sensitivity"]] == [2.0, 20.0]
    assert set(document["expected_shortfall_by_sector"]["USA"]["germanium"]) == {"all"}
    assert "germanium" in document["cvar_shortfall"]
    bad = subprocess.run(
        [sys.executable, "-m", "critmin", "stockpile", str(path), "--k-sweep", "2,x"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2
    assert "--k-sweep" in bad.stderr
    assert "Traceback" not in bad.stderr


@settings(max_examples=6, deadline=None)
@given(
    shortfall=st.lists(st.floats(0, 100), min_size=2 * 2 * 2, max_size=2 * 2 * 2),
    share=st.floats(0.05, 0.95),
    dear=st.floats(1e5, 5e6),
)
def test_joint_never_costs_more_than_alone_with_sectors(
    shortfall: list[float], share: float, dear: float
) -> None:
    cfg = explicit(
        ["USA", "JPN"],
        {
            "mag": {
                "price_usd_per_t": 3000.0,
                "sectors": {
                    "dear": {"share": share, "damage_usd_per_t": dear},
                    "cheap": {"share": 1 - share, "damage_usd_per_t": 30_000.0},
                },
            }
        },
        costs={"release_rate": 0.5, "transfer_cost_usd_per_t": 50.0},
    )
    values = np.array(shortfall).reshape(2, 2, 2, 1)
    sc = make_scenarios(values, None, ["USA", "JPN"], ["mag"])
    joint = build_model(cfg, sc, transfers=True).solve().objective_usd
    alone = sum(solve_coalition(cfg, sc, [a]).objective_usd for a in ("USA", "JPN"))
    assert joint <= alone + 1e-6 * (1 + abs(alone))
