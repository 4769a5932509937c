"""The compiled and exact back-ends agree on every shipped example, month by month."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from critmin.market.run import run_scenario
from critmin.simulation.model import drivers, scenario_model
from critmin.simulation.runner import run_ensemble
from critmin.simulation.scenario import load_scenario
from critmin.simulation.shocks import build_shocks

EXAMPLES = sorted((Path(__file__).parents[1] / "examples" / "scenarios").glob("*.yaml"))
AGREE = 1e-6  # prices and quantities; measured: 2e-12 (prices) and 3e-10 (quantities)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_backends_agree_on_examples(path: Path) -> None:
    """Every node's price (index) and every term's activity (t/month, relative to the
    term's node volume), in every month of the central run."""
    scenario = load_scenario(path)
    model = scenario_model(scenario)
    d = drivers(build_shocks(scenario, model.market, 1, None))
    compiled = run_scenario(model.chain, d, "compiled")
    exact = run_scenario(model.chain, d, "exact")
    st = model.chain.structure
    np.testing.assert_allclose(compiled.prices, exact.prices, rtol=0, atol=AGREE)
    scale = st.volume[st.term_node[st.term_ptr[:-1]]]  # each term's first node's volume
    gap = np.abs(compiled.activity - exact.activity) / np.maximum(scale, np.abs(exact.activity))
    assert gap.max() <= AGREE


def test_ensembles_agree() -> None:
    """The same eight sampled scenarios through both back-ends: the same totals."""
    scenario = load_scenario(EXAMPLES[1])  # china_licensing_all: sampled fraction and timing
    compiled = run_ensemble(scenario, 8, seed=21, engine="compiled").data
    exact = run_ensemble(scenario, 8, seed=21, engine="exact").data
    for name in ("reference", "consumption", "shortfall", "unmet_need", "demand_given_up"):
        scale = float(compiled[name].max())
        np.testing.assert_allclose(compiled[name], exact[name], rtol=AGREE, atol=AGREE * scale)
    for name in ("peak_price_index", "mean_price_index"):
        np.testing.assert_allclose(compiled[name], exact[name], rtol=0, atol=AGREE)
    np.testing.assert_array_equal(compiled["months_to_recovery"], exact["months_to_recovery"])
