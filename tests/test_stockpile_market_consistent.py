"""The market-consistent stockpile plan (issue 20): the LP's valuation of a release calibrated
to the market's, and the plan iterated until the LP's saving is the market's realised one."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xarray as xr

from critmin.errors import InputError
from critmin.optimisation.stockpile import build_model
from critmin.optimisation.stockpile.ally import read_private
from critmin.optimisation.stockpile.config import load_config
from critmin.optimisation.stockpile.decomposed import decomposed_solve, write_party_files
from critmin.optimisation.stockpile.fixed_point import (
    Curves,
    calibrate,
    market_consistent,
    probe_tonnes,
)
from critmin.optimisation.stockpile.market_check import (
    RELEASE_FLOOR_T,
    MarketRunner,
    delivered,
    through_market,
)
from critmin.optimisation.stockpile.scenarios import scenarios_from_config
from tests.test_stockpile import EXPLICIT_CONFIG
from tests.test_stockpile_confidential import EXAMPLES, small_engine_config

TOLERANCE = 0.01


@pytest.fixture(scope="module")
def gallium(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any, Any]:
    """Gallium on 60 engine samples, 10 kept, and its market-consistent plan."""
    cfg = small_engine_config(tmp_path_factory.mktemp("ga"), "us_japan_gallium", 60, 10)
    sc = scenarios_from_config(cfg)
    return cfg, sc, market_consistent(cfg, sc, tolerance=TOLERANCE)


def test_the_market_consistent_plan_saves_what_the_lp_says(gallium: tuple[Any, Any, Any]) -> None:
    """The partial-equilibrium plan (pass 1) overstates its saving by more than the tolerance;
    the returned plan's LP saving is the market's realised saving within it, measured again
    from scratch by ``through_market`` (the same numbers to 1e-9), and no holding is held
    back by the trust region."""
    cfg, _, fixed = gallium
    first = fixed.iterations[0]
    assert first.gap > TOLERANCE
    assert first.lp_saving_usd > first.realised_saving_usd
    assert fixed.converged
    chosen = fixed.iterations[fixed.chosen - 1]
    assert not chosen.held_back
    check = through_market(cfg, fixed.scenarios, fixed.plan)
    assert abs(check.lp_saving_usd - check.realised_saving_usd) <= TOLERANCE * check.lp_saving_usd
    assert check.lp_saving_usd == pytest.approx(chosen.lp_saving_usd, rel=1e-9)
    assert check.realised_saving_usd == pytest.approx(chosen.realised_saving_usd, rel=1e-9)
    # the release effect is a share: what a released tonne covers, at most its tonne
    effect = fixed.scenarios.release_effect
    assert effect is not None
    assert float(effect.min()) >= 0.0
    assert (effect.sel(tranche=2) <= effect.sel(tranche=1) + 1e-12).all()
    doc = fixed.to_dict()
    assert doc["converged"] is True
    assert doc["through_market"]["third_countries"]["saving_usd"] == pytest.approx(
        fixed.market.third_saving_usd, rel=1e-12
    )


def test_the_iteration_is_deterministic_bit_for_bit(gallium: tuple[Any, Any, Any]) -> None:
    cfg, sc, fixed = gallium
    again = market_consistent(cfg, sc, tolerance=TOLERANCE)
    first, second = fixed.to_dict(), again.to_dict()
    for doc in (first, second):
        doc.pop("cpu_seconds")
        doc.pop("wall_seconds")
    assert json.dumps(first) == json.dumps(second)
    np.testing.assert_array_equal(
        fixed.scenarios.release_effect.values, again.scenarios.release_effect.values
    )


def test_calibration_inverts_the_lps_saving_as_its_closed_form_says() -> None:
    """Two nodes on one linear piece of slope g each; the plan releases y t at node 0 only.
    The market says they saved 0.5 g y at node 0 and 0.2 g y at node 1 (nothing at either
    without them): node 1 gets c_1 = 0.2 per tonne of node 0 and node 0 theta_1 = 0.5; a
    probe of 1 t more at node 0 saved 0.3 g more there and 0.1 g more at node 1: theta_2 =
    0.3, c_2 = 0.1; node 1 releases nothing: its probe of 2 t (1.6 g more at node 1, 0.1 g at
    node 0) sets its theta at 0.8 and its effect at node 0 at 0.05, one tranche of 0 t (all
    1e-12); a saving of the whole loss gives the theta that covers it all."""
    g, short, y = 2.0e6, 10.0, 4.0
    curves = Curves(
        width=np.full((1, 1, 2, 1, 1), short),
        slope=np.full((1, 1, 2, 1, 1), g),
        shortfall=np.full((1, 1, 2, 1), short),
    )
    tonnes = np.array([y, 0.0]).reshape(1, 1, 2, 1)
    probe = np.array([1.0, 2.0]).reshape(1, 1, 2, 1)
    realised = np.array([0.5 * g * y, 0.2 * g * y]).reshape(1, 2, 1)
    # [scenario, source ally, source material, ally, material]
    removed = np.array([[0.0, 0.0], [0.5 * g * y, 0.2 * g * y]]).reshape(1, 2, 1, 2, 1)
    probed = np.array(
        [
            [0.5 * g * y + 0.3 * g, 0.2 * g * y + 0.1 * g],
            [0.5 * g * y + 0.1 * g, 0.2 * g * y + 1.6 * g],
        ]
    ).reshape(1, 2, 1, 2, 1)
    effect, tranche, cross = calibrate(curves, tonnes, realised, removed, probe, probed)
    np.testing.assert_allclose(effect[0, 0, 0], [0.5, 0.3], rtol=1e-12)
    np.testing.assert_allclose(effect[0, 1, 0], [0.8, 0.8], rtol=1e-12)
    np.testing.assert_allclose(cross[0, 1, 0, 0, 0], [0.2, 0.1], rtol=1e-12)
    np.testing.assert_allclose(cross[0, 0, 0, 1, 0], [0.05, 0.05], rtol=1e-12)
    np.testing.assert_array_equal(cross[0, 0, 0, 0, 0], [0.0, 0.0])
    np.testing.assert_array_equal(cross[0, 1, 0, 1, 0], [0.0, 0.0])
    np.testing.assert_array_equal(tranche, tonnes)
    whole = curves.effect(np.zeros_like(tonnes), tonnes, np.full((1, 2, 1), g * short))
    assert whole[0, 0, 0] == pytest.approx(short / y, rel=1e-12)
    assert np.isnan(whole[0, 1, 0])  # nothing released: nothing measured


def _isolated_gallium(tmp_path: Path, cut_off: bool) -> Any:
    """The gallium example with one fixed scenario: China cuts 60 % of its exports to the US
    for the whole horizon. With ``cut_off`` the US node is a node without trade to redirect:
    trade does not respond to prices (``trade_elasticity`` 1e-12) and no working stock
    holds back part of a release to rebuild itself (``inventory_months`` 0), so what reaches
    the node otherwise is fixed, the partial equilibrium of the LP."""
    text = (EXAMPLES / "stockpile" / "scenarios" / "china_gallium_controls.yaml").read_text()
    head = text[: text.index("events:")]
    events = (
        "  - {type: export_control, name: ban, origin: CHN, stages: [refining], "
        "destinations: [USA], fraction: 0.6, start: 1, duration: 24}\n"
    )
    params = ""
    if cut_off:
        params = "parameters: {trade_elasticity: 1.0e-12, inventory_months: 0.0}\n"
    (tmp_path / "scenario.yaml").write_text(head + params + "events:\n" + events)
    cfg = (EXAMPLES / "stockpile" / "us_japan_gallium.yaml").read_text()
    cfg = cfg.replace("file: scenarios/china_gallium_controls.yaml", "file: scenario.yaml")
    cfg = re.sub(r"samples: \d+", "samples: 2", cfg)
    cfg = re.sub(r"\bk: \d+", "k: 1", cfg)
    (tmp_path / "config.yaml").write_text(cfg)
    return load_config(tmp_path / "config.yaml")


@pytest.mark.parametrize("cut_off", [True, False])
def test_a_node_without_trade_covers_a_tonne_per_released_tonne(
    tmp_path: Path, cut_off: bool
) -> None:
    """Released at a node whose other supply is fixed, the shortfall's tonnes remove the
    whole value lost (theta = 1: the partial equilibrium at the node is exact); at the same
    node with the market's trade and working stocks a released tonne partly displaces
    imports and rebuilds stocks (theta < 0.9)."""
    cfg = _isolated_gallium(tmp_path, cut_off)
    sc = scenarios_from_config(cfg)
    us = list(cfg.allies).index("USA")
    short = sc.shortfall.transpose("scenario", "month", "ally", "material").values
    assert short[:, :, us].sum() > 0.5
    tonnes = np.zeros_like(short)
    tonnes[:, :, us] = short[:, :, us]
    runner = MarketRunner(cfg, sc)
    run = runner.run(tonnes)
    realised = (runner.without.value_lost_usd - run.value_lost_usd).sum(1)
    theta = Curves.of(sc).effect(np.zeros_like(tonnes), tonnes, realised)[:, us, 0]
    if cut_off:
        # 1e-4: the engine's consumption rises by 0.99997 of the released tonnes here
        # (0.791297 of 0.791321 t/month, measured), the rest of a ten-thousandth is the kernel's
        np.testing.assert_allclose(theta, 1.0, rtol=1e-4)
        np.testing.assert_allclose(
            realised[:, us, 0], runner.without.value_lost_usd[:, :, us, 0].sum(1), rtol=1e-4
        )
    else:
        assert (theta < 0.9).all()


def test_an_allys_private_file_carries_its_release_effect_and_the_confidential_mode_uses_it(
    gallium: tuple[Any, Any, Any], tmp_path: Path
) -> None:
    """The release effect is scenario data: each ally's file holds its own (read back
    exactly), and the confidential mode solved on it reaches the centralised optimum of the
    same LP (within its certified 1e-4); it refuses effects across allies (they couple the
    allies' own models)."""
    cfg, _, fixed = gallium
    cross = fixed.scenarios.release_cross
    assert cross is not None
    with pytest.raises(InputError, match=r"^scenarios.release_cross: a partner's releases"):
        write_party_files(cfg, fixed.scenarios, tmp_path / "refused")
    # an ally's own effects across its materials stay in its file; a partner's couple them
    allies = np.array(cross["ally"].values)
    same = xr.DataArray(allies[:, None] == allies[None, :], dims=("ally", "source_ally"))
    sc = replace(fixed.scenarios, release_cross=cross.where(same, 0.0))
    _, private = write_party_files(cfg, sc, tmp_path / "parties")
    for a in cfg.allies:
        own = read_private(private[a]).scenarios
        mine = sc.for_allies([a])
        for name in ("release_effect", "release_tranche_t", "release_cross"):
            np.testing.assert_array_equal(getattr(own, name).values, getattr(mine, name).values)
    central = build_model(cfg, sc, transfers=True).solve().objective_usd
    result = decomposed_solve(cfg, sc, tolerance=1e-4)
    assert result.converged
    assert result.lower_bound_usd <= central * (1 + 1e-9)
    assert result.cost_usd - central <= 1e-4 * result.cost_usd


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"tolerance": 0.0}, "tolerance = 0.0: a share of the LP's saving in (0, 1)"),
        ({"tolerance": 1.5}, "tolerance = 1.5"),
        ({"max_iterations": 0}, "max_iterations = 0: at least one pass"),
    ],
)
def test_bad_iteration_settings_name_the_value(
    gallium: tuple[Any, Any, Any], kwargs: dict[str, Any], message: str
) -> None:
    cfg, sc, _ = gallium
    with pytest.raises(InputError, match=re.escape(message)):
        market_consistent(cfg, sc, **kwargs)


def test_without_the_price_response_or_engine_scenarios_it_is_refused(
    gallium: tuple[Any, Any, Any], tmp_path: Path
) -> None:
    cfg, sc, _ = gallium
    linear = replace(sc, curve_width=None, curve_slope=None, curve_sector_share=None)
    with pytest.raises(InputError, match=r"scenarios.price_response = false"):
        market_consistent(cfg, linear)
    path = tmp_path / "explicit.yaml"
    path.write_text(EXPLICIT_CONFIG, encoding="utf-8")
    explicit = load_config(path)
    with pytest.raises(InputError, match=r"scenarios.source = 'explicit': .* engine scenarios"):
        market_consistent(explicit, scenarios_from_config(explicit))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--market-consistent", "--market-tolerance", "1.5"], "--market-tolerance 1.5"),
        (["--market-consistent", "--market-iterations", "0"], "--market-iterations 0"),
        (["--market-consistent", "--confidential"], "--market-consistent: not available"),
    ],
)
def test_cli_bad_market_options_are_one_line_naming_the_option(
    args: list[str], message: str
) -> None:
    config = EXAMPLES / "stockpile" / "us_japan_gallium.yaml"
    result = subprocess.run(
        [sys.executable, "-m", "critmin", "stockpile", str(config), *args],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_releases_count_at_the_other_nodes_as_the_market_measures_them(tmp_path: Path) -> None:
    """Targeted bans (24 samples, 8 kept), the partial-equilibrium plan run through the
    market: a group's releases save something at other nodes (a partner's, the other
    material's), so some effects across nodes are positive, each at most its first tranche's
    and 0 on the diagonal; with them the LP's saving of the plan at every node is the
    market's realised saving (1e-6 of the largest)."""
    cfg = small_engine_config(tmp_path)
    sc = scenarios_from_config(cfg)
    plan = build_model(cfg, sc, transfers=True).solve()
    tonnes = delivered(plan, sc)
    tonnes = np.where(tonnes > RELEASE_FLOOR_T, tonnes, 0.0)
    runner = MarketRunner(cfg, sc)
    run = runner.run(tonnes)
    realised = (runner.without.value_lost_usd - run.value_lost_usd).sum(1)
    curves = Curves.of(sc)
    extra = probe_tonnes(curves, tonnes)
    lost = runner.without.value_lost_usd[:, None, None]
    probed = (lost - runner.probe(tonnes, extra, run)).sum(3)
    removed = (lost - runner.probe(tonnes, -tonnes, run)).sum(3)
    effect, _, cross = calibrate(curves, tonnes, realised, removed, extra, probed)
    n_a, n_m = cross.shape[1:3]
    diagonal = cross[
        :, np.arange(n_a)[:, None], np.arange(n_m), np.arange(n_a)[:, None], np.arange(n_m)
    ]
    assert (diagonal == 0.0).all()
    assert (cross[..., 1] <= cross[..., 0] + 1e-12).all()
    assert (cross >= 0.0).all()
    us, jp = list(cfg.allies).index("USA"), list(cfg.allies).index("JPN")
    assert cross[:, us, :, jp, :, 0].max() > 0.0
    assert cross[:, jp, :, us, :, 0].max() > 0.0
    assert cross[:, :, 0, :, 1, 0].max() > 0.0
    assert cross[:, :, 1, :, 0, 0].max() > 0.0
    others = np.einsum("samcd,stcd->stam", cross[..., 0], tonnes)
    lp = curves.saving(others + effect[..., 0][:, None] * tonnes)
    np.testing.assert_allclose(lp, realised, rtol=0.0, atol=1e-6 * float(np.abs(realised).max()))
