"""Benchmark: Monte Carlo valuation of the $110/kg NdPr floor, 1,000,000 paths x 120 months.

Target (issue 7): under 10 s on the 2-core machine, memory bounded (paths are simulated in
blocks of 8,192 and reduced block by block: 1e6 x 120 float64 would be 960 MB at once).
Model: OU log price estimated from the embedded history, severe dumping regime on; then the
cited DoD-MP terms under parameter uncertainty (1,000 posterior draws, path j on draw j mod
1,000, closed-form interval per draw).
Baseline in the same process: a naive per-path, per-month Python loop on 2,000 paths,
extrapolated to 1,000,000. Also checks that two chunk sizes give bit-identical results.

Run: ``python benchmarks/bench_pricefloor.py``.
"""

from __future__ import annotations

import dataclasses
import math
import os
import resource
import time

import numpy as np

from critmin.analysis.pricefloor import (
    FloorTerms,
    dumping_preset,
    estimate,
    posterior,
    reference_terms,
    value_floor,
)
from critmin.analysis.pricefloor.process import DT, PriceProcess

PATHS = 1_000_000
NAIVE_PATHS = 2_000
TARGET_S = 10.0


def naive(process: PriceProcess, terms: FloorTerms, paths: int, rate: float) -> float:
    """Per-path Python loop: the straightforward implementation (present value only)."""
    rng = np.random.default_rng(0)
    phi = math.exp(-process.kappa * DT)
    s = process.sigma * math.sqrt((1 - phi**2) / (2 * process.kappa))
    d = process.dumping
    enter, leave = 1 - math.exp(-d.hazard * DT), 1 - math.exp(-DT / d.duration_years)
    q = float(terms.monthly_units()[0])  # constant volume
    total = 0.0
    for _ in range(paths):
        x, dumping, pv = math.log(process.s0), False, 0.0
        for m in range(1, 12 * terms.years + 1):
            x = process.theta + (x - process.theta) * phi + s * rng.standard_normal()
            u = rng.random()
            dumping = (u >= leave) if dumping else (u < enter)
            price = math.exp(x) * (1 - d.depth * dumping)
            pv += max(terms.floor - price, 0.0) * q * math.exp(-rate * m / 12)
        total += pv
    return total / paths


def main() -> None:
    process = dataclasses.replace(estimate("ndpr_oxide"), dumping=dumping_preset("severe"))
    terms = FloorTerms(110.0, 10, 1000.0)
    for workers in (1, 2):
        start, cpu = time.perf_counter(), time.process_time()
        result = value_floor(process, terms, paths=PATHS, seed=1, workers=workers)
        seconds = time.perf_counter() - start
        cpu = time.process_time() - cpu
        verdict = "meets" if seconds < TARGET_S else "MISSES"
        print(f"{PATHS:,} paths x 120 months, {workers} thread(s): {seconds:.2f} s "
              f"({verdict} the {TARGET_S:.0f} s target; CPU {cpu:.2f} s); "
              f"PV {result.present_value / 1e6:,.1f} "
              f"+/- {result.present_value_se / 1e6:.2f} M USD")  # fmt: skip
    post = posterior("ndpr_oxide", draws=1000, seed=0)
    start, cpu = time.perf_counter(), time.process_time()
    uncertain = value_floor(process, reference_terms("dod_mp"), paths=PATHS, seed=1, posterior=post)
    band = uncertain.uncertainty["expected_cost"]  # type: ignore[index]
    print(f"DoD-MP terms, severe dumping, 1,000 posterior draws, {PATHS:,} paths: "
          f"{time.perf_counter() - start:.2f} s (CPU {time.process_time() - cpu:.2f} s; load "
          f"{os.getloadavg()[0]:.2f}); expected cost {uncertain.expected_cost / 1e6:,.1f} M "
          f"[{band['low'] / 1e6:,.1f}, {band['high'] / 1e6:,.1f}]")  # fmt: skip
    start = time.perf_counter()
    naive_pv = naive(process, terms, NAIVE_PATHS, 0.04)
    naive_s = (time.perf_counter() - start) * PATHS / NAIVE_PATHS
    print(f"naive per-path loop: {NAIVE_PATHS:,} paths, extrapolated to {PATHS:,}: "
          f"{naive_s:.0f} s (PV {naive_pv / 1e6:,.1f} M USD); naive/vectorised = "
          f"{naive_s / seconds:.0f}x")  # fmt: skip
    a = value_floor(process, terms, paths=50_000, seed=3, chunk_paths=8_192)
    b = value_floor(process, terms, paths=50_000, seed=3, chunk_paths=1_000_000, workers=2)
    print(f"chunking 8,192 vs 1,000,000 paths, 1 vs 2 threads: identical = "
          f"{a.to_dict() == b.to_dict()}")  # fmt: skip
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory: {peak:,.0f} MB (per-path results kept: 1e6 x 11 float64)")


if __name__ == "__main__":
    main()
