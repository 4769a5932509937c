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

``--arrangements``: CPU time of ``compare_arrangements`` on every shipped config (one joint
model whose bounds change between the alone, joint, rule-of-thumb and mean-plan solves),
against the former way measured in the same run (a model built for each of the seven solves),
with the largest relative difference of their costs.

``--market-consistent``: every shipped config through ``run_stockpile(..., consistent=True)``
(docs/methods/stockpile.md section 2.5): LP and realised saving of the partial-equilibrium
plan and of the market-consistent one, passes, whether it converged, holdings before and
after, wall and CPU seconds (process and children) with the load average.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from critmin.optimisation.stockpile import (
    ScenarioSet,
    StockpileConfig,
    build_model,
    make_scenarios,
    parse_config,
)
from critmin.optimisation.stockpile.arrangements import (
    coalition,
    compare_arrangements,
    rule_holdings,
    solve_coalition,
)
from critmin.optimisation.stockpile.config import load_config
from critmin.optimisation.stockpile.scenarios import mean_scenario, scenarios_from_config

ALLIES = ["USA", "JPN", "AUS", "KOR", "DEU"]
EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "stockpile"
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


def rebuilt_each(config: StockpileConfig, sc: ScenarioSet) -> list[float]:
    """The former ``compare_arrangements`` (two allies): a model built for every solve.
    Costs: alone (each ally), joint, mean plan priced, wait-and-see, rule of thumb."""
    alone = [solve_coalition(config, sc, [a]).objective_usd for a in config.allies]
    joint = build_model(config, sc, transfers=True).solve().objective_usd
    plan = build_model(config, mean_scenario(sc), transfers=True).solve().holdings
    priced = build_model(config, sc, transfers=True, fixed_holdings=plan).solve().objective_usd
    waitsee = build_model(config, sc, transfers=True, perfect_information=True).solve()
    held = rule_holdings(config, sc)
    rule = build_model(config, sc, transfers=False, fixed_holdings=held).solve().objective_usd
    return [*alone, joint, priced, waitsee.objective_usd, rule]


def reused(config: StockpileConfig, sc: ScenarioSet) -> list[float]:
    """The same costs from ``compare_arrangements`` (one joint model reused)."""
    report = compare_arrangements(config, sc, drivers=False)
    assert report.rule is not None
    return [
        *(s.objective_usd for s in report.alone.values()),
        report.joint.objective_usd,
        report.mean_value_plan.objective_usd,
        report.perfect_information.objective_usd,
        report.rule.objective_usd,
    ]


def arrangements() -> None:
    total_before = total_after = 0.0
    for path in sorted(EXAMPLES.glob("*.yaml")):
        config = load_config(path)
        sc = scenarios_from_config(config)
        started = time.process_time()
        before = rebuilt_each(config, sc)
        cpu_before = time.process_time() - started
        started = time.process_time()
        after = reused(config, sc)
        cpu_after = time.process_time() - started
        total_before, total_after = total_before + cpu_before, total_after + cpu_after
        diff = max(abs(x - y) / max(abs(x), 1.0) for x, y in zip(before, after, strict=True))
        print(
            f"{path.stem}: a model per solve {cpu_before:.2f} s CPU, one model reused "
            f"{cpu_after:.2f} s CPU, ratio {cpu_before / cpu_after:.2f}; largest relative "
            f"cost difference {diff:.1e}; load {os.getloadavg()[0]:.1f}",
            flush=True,
        )
    print(
        f"all configs: {total_before:.2f} s -> {total_after:.2f} s CPU, "
        f"ratio {total_before / total_after:.2f}"
    )


def market_consistent() -> None:
    import resource

    from critmin.optimisation.stockpile.api import run_stockpile

    def cpu() -> float:
        own = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime

    for path in sorted(EXAMPLES.glob("*.yaml")):
        wall, started, load = time.perf_counter(), cpu(), os.getloadavg()[0]
        fixed = run_stockpile(path, consistent=True).fixed_point
        assert fixed is not None
        first, chosen = fixed.iterations[0], fixed.iterations[fixed.chosen - 1]
        print(
            f"{path.stem}: partial equilibrium LP {first.lp_saving_usd / 1e6:.2f} / market "
            f"{first.realised_saving_usd / 1e6:.2f} M USD; pass {fixed.chosen} of "
            f"{len(fixed.iterations)} LP {chosen.lp_saving_usd / 1e6:.2f} / market "
            f"{chosen.realised_saving_usd / 1e6:.2f} M USD (gap {chosen.gap:.2%}, "
            f"{'converged' if fixed.converged else 'NOT converged'}); holdings "
            f"{first.holdings} -> {chosen.holdings}; {time.perf_counter() - wall:.1f} s wall, "
            f"{cpu() - started:.1f} s CPU, load {load:.1f}",
            flush=True,
        )


def main() -> None:
    if "--market-consistent" in sys.argv:
        market_consistent()
        return
    if "--arrangements" in sys.argv:
        arrangements()
        return
    if "--small" in sys.argv:
        run(2, 3, 50)
        return
    total = run(2, 10, 500)
    print(f"target < {TARGET_S:.0f} s: {'met' if total < TARGET_S else 'MISSED'}")
    run(5, 10, 200)


if __name__ == "__main__":
    main()
