"""Quantile paths of an ensemble (the data behind the report's fan charts)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from critmin.errors import InputError
from critmin.simulation import load_scenario, simulate
from critmin.simulation.paths import ensemble_paths

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "scenarios"


def test_deterministic_scenario_paths_equal_the_central_run() -> None:
    scenario = load_scenario(EXAMPLES / "china_ree_ban_usa_jpn.yaml")
    paths = ensemble_paths(scenario, samples=3, seed=1, groups={"US-JP": ["USA", "JPN"]})
    central = simulate(scenario).data
    price = central["price_index"].sel(country="JPN", stage="magnet").to_numpy()
    for q in (0.05, 0.5, 0.95):
        got = paths["price_index"].sel(quantile=q, country="JPN", stage="magnet").to_numpy()
        assert np.allclose(got, price)
    allies = ["USA", "JPN"]
    demand = central["reference_demand"].sel(country=allies, stage="magnet")
    demand = demand.sum(["country", "sector"])
    short = (
        central["shortfall"].sel(country=["USA", "JPN"], stage="magnet").sum(["country", "sector"])
    )
    expected = (short / demand).to_numpy()
    pooled = paths["shortfall_share"].sel(quantile=0.5, country="US-JP", stage="magnet")
    assert np.allclose(pooled.to_numpy(), expected, equal_nan=True)


def test_sampled_paths_are_ordered_and_seeded() -> None:
    scenario = load_scenario(EXAMPLES / "china_licensing_all.yaml")
    first = ensemble_paths(scenario, samples=40, seed=7)
    again = ensemble_paths(scenario, samples=40, seed=7)
    assert first.equals(again)
    price = first["price_index"]  # NaN where a country has no node at a stage
    low, mid, high = (price.sel(quantile=q) for q in (0.05, 0.5, 0.95))
    assert ((low <= mid + 1e-12) | low.isnull()).all()
    assert ((mid <= high + 1e-12) | mid.isnull()).all()
    assert bool(mid.notnull().any())
    with pytest.raises(InputError, match="samples"):
        ensemble_paths(scenario, samples=0)


def test_one_sample_alone_has_the_ensembles_paths_bit_for_bit() -> None:
    from critmin.simulation.paths import sample_paths

    scenario = load_scenario(EXAMPLES / "china_licensing_all.yaml")
    full = sample_paths(scenario, samples=12, seed=3)
    for i in (0, 7, 11):
        alone = sample_paths(scenario, samples=12, seed=3, only=i)
        assert list(alone["sample"].values) == [i]
        assert alone.equals(full.sel(sample=[i]))
    with pytest.raises(InputError, match="only 12"):
        sample_paths(scenario, samples=12, seed=3, only=12)
