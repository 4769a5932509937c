"""The compiled ensemble kernel gives what central runs give, scenario by scenario."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from critmin.market.run import run_scenario
from critmin.simulation.model import drivers, scenario_model
from critmin.simulation.runner import run_shocks
from critmin.simulation.scenario import load_scenario
from critmin.simulation.series import summarize_trace
from critmin.simulation.shocks import build_shocks
from critmin.simulation.summary import Summary

EXAMPLES = Path(__file__).parents[1] / "examples" / "scenarios"
FIELDS = ("reference", "consumption", "shortfall", "demand_given_up", "unmet_need",
          "peak_price", "mean_price", "value_lost")


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_kernel_matches_month_by_month_runs(path: Path) -> None:
    """24 sampled scenarios: the kernel (with its skipping of months at the base state)
    against the Python loop over months, both clearing with the compiled back-end."""
    scenario = load_scenario(path)
    model = scenario_model(scenario)
    n = 24
    shocks = build_shocks(scenario, model.market, n, np.random.default_rng(5))
    shape = (model.market.n_stages, model.market.n_regions)
    kernel = Summary.zeros(n, *shape)
    run_shocks(model, shocks, "compiled", kernel)
    loop = Summary.zeros(n, *shape)
    empty = np.zeros((0, 0, 0, 0))
    for j in range(n):
        d = drivers(shocks, j)
        summarize_trace(model, run_scenario(model.chain, d), d, j, loop, (empty,) * 5)
    for name in FIELDS:
        a, b = getattr(kernel, name), getattr(loop, name)
        scale = max(np.abs(b).max(), 1.0)
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9 * scale, err_msg=name)
    np.testing.assert_array_equal(kernel.first_short, loop.first_short)
    np.testing.assert_array_equal(kernel.last_short, loop.last_short)
    assert kernel.balance_error.max() <= 1e-9
    assert (kernel.steps >= 0).all()


def test_kernel_results_do_not_depend_on_the_other_scenarios_of_a_chunk() -> None:
    scenario = load_scenario(EXAMPLES / "china_licensing_all.yaml")
    model = scenario_model(scenario)
    shape = (model.market.n_stages, model.market.n_regions)
    shocks = build_shocks(scenario, model.market, 40, np.random.default_rng(9))
    whole = Summary.zeros(40, *shape)
    run_shocks(model, shocks, "compiled", whole)
    part = shocks.subset(10, 25)
    sub = Summary.zeros(15, *shape)
    run_shocks(model, part, "compiled", sub)
    for name in Summary.__dataclass_fields__:
        assert np.array_equal(getattr(whole, name)[10:25], getattr(sub, name)), name
