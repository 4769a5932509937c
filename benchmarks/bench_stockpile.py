"""Benchmark: build and solve times of the joint stockpile LP.

Cases of issue 6: 2 allies x 10 materials x 500 scenarios x 24 months (target: build + solve
under 60 s on the 2-core machine) and 5 allies x 10 materials x 200 scenarios x 24 months
(must solve). Shortfalls are synthetic: each scenario hits each ally with probability 0.3,
for 3-12 months from a random start, at 5-60 % of a monthly use of 10-1,000 t; prices
10,000-500,000 USD/t. The problem is the same size as with engine scenarios.

Each case also solves every ally alone (no transfers) in the same process, the baseline of
the printed ratio (joint build + solve time / the allies' alone build + solve times): a
ratio is comparable across machines and loads where absolute seconds are not.

Run: ``python benchmarks/bench_stockpile.py`` (``--small`` for a quick 2 x 3 x 50 check).
"""

from __future__ import annotations

import sys
import time
from typing import Any

import numpy as np

from critmin.optimisation.stockpile import (
    ScenarioSet,
    StockpileConfig,
    build_model,
    make_scenarios,
    parse_config,
)
from critmin.optimisation.stockpile.arrangements import coalition

ALLIES = ["USA", "JPN", "AUS", "KOR", "DEU"]
TARGET_S = 60.0


def case(
    allies: int, materials: int, scenarios: int, months: int = 24, seed: int = 0
) -> tuple[StockpileConfig, ScenarioSet]:
    rng = np.random.default_rng(seed)
    names = [f"m{j}" for j in range(materials)]
    use = rng.uniform(10, 1_000, (allies, materials))
    values = np.zeros((scenarios, months, allies, materials))
    for s in range(scenarios):
        for a in range(allies):
            if rng.random() < 0.3:
                start = rng.integers(0, months - 3)
                length = rng.integers(3, 13)
                depth = rng.uniform(0.05, 0.6, materials)
                values[s, start : start + length, a, :] = depth * use[a]
    config = parse_config(
        {
            "name": "bench",
            "allies": {a: {} for a in ALLIES[:allies]},
            "materials": {m: {"price_usd_per_t": float(rng.uniform(1e4, 5e5))} for m in names},
            "scenarios": {"source": "explicit", "cases": [{"probability": 1, "shortfall_t": {}}]},
        }
    )
    return config, make_scenarios(values, None, ALLIES[:allies], names)


def timed(config: StockpileConfig, sc: ScenarioSet, transfers: bool) -> tuple[Any, float, float]:
    """Build and solve one model: (model, build seconds, solve seconds)."""
    started = time.perf_counter()
    model = build_model(config, sc, transfers=transfers)
    built = time.perf_counter() - started
    started = time.perf_counter()
    model.solve()
    return model, built, time.perf_counter() - started


def run(allies: int, materials: int, scenarios: int) -> float:
    config, sc = case(allies, materials, scenarios)
    model, built, solved = timed(config, sc, transfers=True)
    m = model.model
    print(
        f"{allies} allies x {materials} materials x {scenarios} scenarios x 24 months: "
        f"{m.nvars:,} variables, {m.ncons:,} constraints; build {built:.1f} s, "
        f"solve {solved:.1f} s, total {built + solved:.1f} s; "
        f"objective {model.model.objective.value:,.0f} USD",
        flush=True,
    )
    alone_build = alone_solve = 0.0
    for ally in config.allies:
        sub_config, sub_sc = coalition(config, sc, [ally])
        _, b, s = timed(sub_config, sub_sc, transfers=False)
        alone_build, alone_solve = alone_build + b, alone_solve + s
    ratio = (built + solved) / (alone_build + alone_solve)
    print(
        f"  baseline, each ally alone in the same process: build {alone_build:.1f} s, "
        f"solve {alone_solve:.1f} s; joint / alone time ratio {ratio:.2f}",
        flush=True,
    )
    return built + solved


def main() -> None:
    if "--small" in sys.argv:
        run(2, 3, 50)
        return
    total = run(2, 10, 500)
    print(f"target < {TARGET_S:.0f} s: {'met' if total < TARGET_S else 'MISSED'}")
    run(5, 10, 200)


if __name__ == "__main__":
    main()
