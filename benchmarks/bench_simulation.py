"""Benchmark: the compiled back-end against the exact one, and ensemble scale.

Targets (issue 15), on the rare-earth chain (11 regions, 4 stages, joint clearing) over 60
months:
* the compiled back-end sustains >= 1,000,000 scenario-months per second on 2 cores;
* a 100,000-scenario ensemble finishes in < 30 s using < 4 GB;
* the compiled back-end is >= 50x faster per scenario than the exact one (same process).
Run: ``python benchmarks/bench_simulation.py [--samples 100000] [--workers 2]``. The first
call in a fresh installation compiles the kernel (numba's cache, next to the modules); it is
timed and printed apart.
"""

from __future__ import annotations

import argparse
import os
import resource
import time

from critmin.simulation.model import scenario_model
from critmin.simulation.runner import run_ensemble, simulate
from critmin.simulation.scenario import parse_scenario

MONTHS = 60
SCENARIO = {
    "name": "bench-re-ensemble",
    "commodity": "rare_earths",
    "horizon": {"start": "2026-01", "months": MONTHS},
    "events": [
        {
            "type": "export_control",
            "origin": "CHN",
            "stages": ["separation", "magnet"],
            "destinations": ["USA", "JPN"],
            "fraction": {"dist": "uniform", "low": 0.2, "high": 1.0},
            "start": {"dist": "uniform", "low": 1, "high": 24},
            "duration": {"dist": "triangular", "low": 3, "mode": 12, "high": 24},
            "licensing": {"after_months": 6, "pass_fraction": 0.5},
        },
        {
            "type": "outage",
            "country": "MMR",
            "stage": "mining",
            "fraction": {"dist": "uniform", "low": 0.2, "high": 1.0},
            "start": {"dist": "uniform", "low": 1, "high": 48},
            "duration": {"dist": "uniform", "low": 1, "high": 12},
            "occurs": {"dist": "bernoulli", "p": 0.4},
        },
        {
            "type": "demand_shock",
            "country": "all",
            "sector": "ev_traction",
            "change": {"dist": "triangular", "low": 0.0, "mode": 0.2, "high": 0.6},
            "start": 1,
        },
    ],
}


def _cpu_s() -> float:
    """CPU seconds (user + system) of this process and its finished children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _peak_rss_gb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return (own + children) / 1024**2  # kB -> GB (Linux); children: the largest one


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--exact-runs", type=int, default=2)
    args = parser.parse_args()
    scenario = parse_scenario(SCENARIO)
    simulate(scenario)  # warm caches (data, calibration)
    market = scenario_model(scenario).market
    print(
        f"chain: {market.commodity}, {market.n_regions} regions, {market.n_stages} stages, "
        f"{MONTHS} months"
    )

    start = time.perf_counter()
    for _ in range(args.exact_runs):
        simulate(scenario, engine="exact")
    exact_s = (time.perf_counter() - start) / args.exact_runs
    start = time.perf_counter()
    for _ in range(args.exact_runs):
        simulate(scenario, engine="compiled")
    fast_single_s = (time.perf_counter() - start) / args.exact_runs

    # the first ensemble call in a process loads the compiled kernel from numba's cache: a
    # one-off cost, timed apart from the sustained rate
    start = time.perf_counter()
    run_ensemble(scenario, 1, seed=0)
    load_s = time.perf_counter() - start

    load_before = os.getloadavg()[0]
    start, cpu = time.perf_counter(), _cpu_s()
    result = run_ensemble(scenario, args.samples, seed=1, workers=args.workers)
    wall = time.perf_counter() - start
    cpu = _cpu_s() - cpu
    load_after = os.getloadavg()[0]
    fast_s = wall / args.samples
    rate = args.samples * MONTHS / wall
    memory = _peak_rss_gb()
    print(f"exact, one scenario (central run):   {exact_s:10.3f} s")
    print(
        f"compiled, one scenario (central run):    {fast_single_s:10.4f} s "
        f"({exact_s / fast_single_s:,.0f}x faster, unvectorised)"
    )
    print(f"first ensemble call (compiles or loads the kernel): {load_s:6.2f} s")
    print(f"compiled ensemble, {args.samples:,} scenarios, {args.workers} worker(s): {wall:7.2f} s")
    print(f"  per scenario:                              {fast_s * 1e3:10.3f} ms")
    print(
        f"  scenario-months per second:                {rate:12,.0f}  (target 1,000,000: "
        f"{'meets' if rate >= 1e6 else 'MISSES'})"
    )
    print(
        f"  CPU time of all processes:                 {cpu:10.2f} s  (with {args.workers} idle "
        f"core(s) about {args.samples * MONTHS / (cpu / args.workers):,.0f} "
        "scenario-months per second)"
    )
    print(
        f"  CPU per scenario-month:                    "
        f"{cpu / (args.samples * MONTHS) * 1e6:10.2f} us "
        f"(load average {load_before:.2f} before, {load_after:.2f} after; the wall-clock "
        "figures hold only on a quiet machine)"
    )
    print(
        f"  wall time:                                 {wall:10.2f} s  (target 30 s: "
        f"{'meets' if wall < 30 else 'MISSES'})"
    )
    print(
        f"  peak memory (this process + largest child):{memory:10.2f} GB (target 4 GB: "
        f"{'meets' if memory < 4 else 'MISSES'})"
    )
    ratio = exact_s / fast_s
    print(
        f"compiled vs exact per scenario:                  {ratio:10,.0f}x (target 50x: "
        f"{'meets' if ratio >= 50 else 'MISSES'})"
    )
    short = float(
        result.data["shortfall"].sel(stage="magnet", country=["USA", "JPN"]).sum("country").mean()
    )
    print(f"check: {result.n_scenarios:,} scenarios, mean USA+JPN magnet shortfall {short:,.0f} t")


if __name__ == "__main__":
    main()
