"""The compiled ensemble kernel gives the numpy engine's results (fast engine, ensembles)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from critmin.simulation.engine import Summary, simulate_arrays
from critmin.simulation.fast import clear_fast
from critmin.simulation.kernel import simulate_ensemble
from critmin.simulation.model import build_market, value_per_tonne
from critmin.simulation.scenario import load_scenario
from critmin.simulation.shocks import build_shocks

EXAMPLES = Path(__file__).parents[1] / "examples" / "scenarios"


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_kernel_matches_the_numpy_engine_on_sampled_examples(path: Path) -> None:
    scenario = load_scenario(path)
    market = build_market(scenario)
    values = value_per_tonne(scenario, market)
    shocks = build_shocks(scenario, market, 96, np.random.default_rng(5))
    numpy_path, _ = simulate_arrays(market, shocks, clear_fast, values)
    compiled = simulate_ensemble(market, shocks, values)
    for name in ("shortfall", "reference", "value_at_risk", "peak_price", "mean_price"):
        old, new = getattr(numpy_path, name), getattr(compiled, name)
        scale = np.abs(old).max()
        assert np.allclose(new, old, rtol=1e-9, atol=1e-9 * scale), name
    assert np.array_equal(numpy_path.first_short, compiled.first_short)
    assert np.array_equal(numpy_path.last_short, compiled.last_short)
    # mass balance: t per month, against the chain's volume
    assert compiled.balance_error.max() <= 1e-9 * market.production.max()


def test_kernel_results_do_not_depend_on_the_other_scenarios_of_a_chunk() -> None:
    scenario = load_scenario(EXAMPLES / "china_licensing_all.yaml")
    market = build_market(scenario)
    values = value_per_tonne(scenario, market)
    shocks = build_shocks(scenario, market, 40, np.random.default_rng(9))
    whole = simulate_ensemble(market, shocks, values)
    part = build_shocks(scenario, market, 40, np.random.default_rng(9)).subset(10, 25)
    sub = simulate_ensemble(market, part, values)
    for name in Summary.__dataclass_fields__:
        assert np.array_equal(getattr(whole, name)[10:25], getattr(sub, name)), name
