"""Stockpile sectors (issue 6): unmet need per ally x material x sector, damage by sector,
the gallium and germanium examples, the effect of K and the Python API."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from critmin.errors import InputError, ScenarioError
from critmin.market.params import default_parameters
from critmin.optimisation.stockpile import build_model, make_scenarios, parse_config
from critmin.optimisation.stockpile.api import run_stockpile
from critmin.optimisation.stockpile.arrangements import solve_coalition
from critmin.optimisation.stockpile.config import load_config
from critmin.optimisation.stockpile.model import resolve_inputs
from critmin.optimisation.stockpile.scenarios import engine_scenarios, full_scenarios
from critmin.optimisation.stockpile.sectors import resolve_sectors
from critmin.simulation import simulate
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


def test_engine_shortfall_is_split_by_the_markets_sector_accounts() -> None:
    scenario = load_scenario(EXAMPLES / "stockpile" / "scenarios" / "china_targeted_bans.yaml")
    sc = engine_scenarios(
        scenario, ["USA", "JPN"], {"oxide": "separation", "magnet": "magnet"}, 8, 0
    )
    market = scenario_model(scenario).market
    assert sc.sector_share is not None
    assert sc.sector_shortfall is not None
    magnet = sc.sector_share.sel(ally="JPN", material="magnet")
    expected = market.sector_split[market.stages.index("magnet"), market.regions.index("JPN")]
    assert magnet.values == pytest.approx(expected)
    assert float(sc.sector_share.sel(ally="USA", material="oxide", sector="direct_use")) == 1.0
    # the sectors' shortfalls add up to the paths' shortfall, month by month
    np.testing.assert_allclose(
        sc.sector_shortfall.sum("sector").values, sc.shortfall.values, rtol=1e-12, atol=1e-9
    )
    assert float(sc.shortfall.max()) > 0
    cfg = load_config(EXAMPLES / "stockpile" / "us_japan_targeted_bans.yaml")
    sectors = resolve_sectors(cfg, sc)
    assert sectors.share.sum("sector").values == pytest.approx(1.0)
    assert sectors.damage_usd_per_t.identical(
        sc.damage_usd_per_t.transpose(*sectors.damage_usd_per_t.dims)
    )
    solution = build_model(cfg, sc).solve()
    totals = solution.expected_shortfall_by_sector_t.sum("sector")
    assert totals.values == pytest.approx(solution.expected_shortfall_t.values, abs=1e-9)


def test_explicit_damage_defaults_to_the_markets_rationed_tonne() -> None:
    cfg = explicit(["USA"], {"ox": {"price_usd_per_t": 58_300.0}})
    sc = make_scenarios(np.full((1, 1, 1, 1), 5.0), None, ["USA"], ["ox"])
    sectors = resolve_sectors(cfg, sc)
    multiple = default_parameters().rationing_price_index
    assert float(sectors.damage_usd_per_t.sel(material="ox", sector="all")) == pytest.approx(
        multiple * 58_300.0, rel=1e-15
    )
    assert "rationing price" in sectors.basis[0]
    given = explicit(["USA"], {"ox": {"price_usd_per_t": 1.0, "damage_usd_per_t": 5.0}})
    assert float(resolve_sectors(given, sc).damage_usd_per_t.item()) == 5.0


def test_engine_scenarios_refuse_a_second_definition_of_damage() -> None:
    cfg = load_config(EXAMPLES / "stockpile" / "us_japan_targeted_bans.yaml")
    raw = cfg.model_dump()
    raw["materials"]["magnet"]["damage_usd_per_t"] = 1e6
    raw["scenarios"]["samples"] = 4
    bad = parse_config(raw)
    with pytest.raises(InputError, match=r"materials\.magnet\.damage_usd_per_t: .*one definition"):
        resolve_sectors(bad, full_scenarios(bad))


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


def test_stockpile_damage_per_tonne_equals_the_market_models_for_every_sector() -> None:
    """Issue 20: one definition of damage. On the ban (no random inputs: one sample is the
    central run) the LP's damage per tonne and each sector's shortfall are the market
    model's, for every ally, material, sector and month, and the LP's loss with no stock is
    the value the market says the allies' buyers lose at those stages."""
    scenario = load_scenario(EXAMPLES / "scenarios" / "china_ree_ban_usa_jpn.yaml")
    stages = {"oxide": "separation", "magnet": "magnet"}
    allies = ["USA", "JPN"]
    sc = engine_scenarios(scenario, allies, stages, 1, 0)
    central = simulate(scenario).data.sel(country=allies, stage=list(stages.values()))
    market_value = central["value_lost"].transpose("month", "country", "stage", "sector").values
    market_short = central["shortfall"].transpose("month", "country", "stage", "sector").values
    cfg = parse_config(
        {
            "name": "one-definition",
            "allies": {a: {} for a in allies},
            "materials": {m: {"stage": s} for m, s in stages.items()},
            "scenarios": {"source": "engine", "file": "unused.yaml", "samples": 1, "k": 1},
        }
    )
    inputs = resolve_inputs(cfg, sc)
    damage = (
        inputs.damage_usd_per_t.sel(scenario=0)
        .transpose("month", "ally", "material", "sector")
        .values
    )
    bound = (
        inputs.unmet_bound.sel(scenario=0).transpose("month", "ally", "material", "sector").values
    )
    np.testing.assert_allclose(bound, market_short, rtol=1e-9, atol=1e-9)
    # the market's own damage per tonne short, sector by sector
    short = (
        market_short
        > 1e-9 * central["reference_demand"].transpose("month", "country", "stage", "sector").values
    )
    assert short.sum() > 50
    assert np.unique(np.nonzero(short)[3]).size == 6  # every magnet sector and direct use
    np.testing.assert_allclose(damage[short], market_value[short] / market_short[short], rtol=1e-9)
    assert (damage[~short] == 0).all()
    # no stock: the LP's loss is the market's value lost (where prices rose)
    none = xr.zeros_like(inputs.floor_t)
    priced = build_model(cfg, sc, transfers=False, fixed_holdings=none).solve()
    lost = float(np.where(market_value > 0, market_value, 0.0).sum())
    assert priced.objective_usd == pytest.approx(lost, rel=1e-9)
    assert lost > 1e6


def test_holdings_are_proportional_to_use_when_the_market_hits_allies_in_proportion() -> None:
    """Why licensing on all destinations gives (nearly) equal days of cover: with the
    market's damages an ally whose shortfall paths are another's scaled by its use, at the
    same prices (so the same damage per tonne), faces the other's LP scaled; its optimal
    holdings scale too, to 1e-6, and its days of cover are the same."""
    cfg = load_config(EXAMPLES / "stockpile" / "us_japan_gallium.yaml")
    raw = cfg.model_dump()
    raw["scenarios"].update(samples=12, k=12)
    cfg = parse_config(raw, str(EXAMPLES / "stockpile" / "us_japan_gallium.yaml"))
    sc = full_scenarios(cfg)
    assert sc.damage_usd_per_t is not None
    assert sc.sector_shortfall is not None
    assert sc.consumption_t_per_year is not None
    factor = 3.7

    def as_usa(a: xr.DataArray, scale: float) -> xr.DataArray:
        usa = a.sel(ally="USA")
        return xr.concat([usa, usa * scale], dim="ally").assign_coords(ally=["USA", "JPN"])

    scaled = replace(
        sc,
        shortfall=as_usa(sc.shortfall, factor),
        sector_shortfall=as_usa(sc.sector_shortfall, factor),
        damage_usd_per_t=as_usa(sc.damage_usd_per_t, 1.0),
        consumption_t_per_year=as_usa(sc.consumption_t_per_year, factor),
    )
    assert float(scaled.shortfall.sel(ally="USA").sum()) > 0
    joint = solve_coalition(cfg, scaled, ["USA", "JPN"])
    held = joint.holdings.sel(material="gallium")
    assert float(held.sel(ally="USA")) > 0
    assert float(held.sel(ally="JPN")) == pytest.approx(factor * float(held.sel(ally="USA")),
                                                        rel=1e-6)  # fmt: skip
    days = joint.holdings_days.sel(material="gallium")
    assert float(days.sel(ally="JPN")) == pytest.approx(float(days.sel(ally="USA")), rel=1e-6)
