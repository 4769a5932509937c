"""Benchmark: loading a SupplyNetwork warm (tables cached) against a cold load.

Target (issue 2): any network loads in under 1 s warm. Baseline, in the same process: the
cold load, which reads the embedded Parquet/CSV tables from disk first.
Run: ``make bench`` or ``python benchmarks/bench_load_network.py``.
"""

from __future__ import annotations

import statistics
import time

import critmin
from critmin.data import tables
from critmin.data.commodities import KEY_COMMODITIES as COMMODITIES

REPEATS = 5
TARGET_S = 1.0


def _seconds(commodity: str) -> float:
    start = time.perf_counter()
    critmin.load_network(commodity, year=2024)
    return time.perf_counter() - start


def main() -> None:
    print(f"{'commodity':<12} {'cold s':>8} {'warm s':>8} {'cold/warm':>10}")
    worst = 0.0
    for commodity in COMMODITIES:
        tables.clear_caches()
        cold = _seconds(commodity)
        warm = statistics.median(_seconds(commodity) for _ in range(REPEATS))
        worst = max(worst, warm)
        print(f"{commodity:<12} {cold:8.3f} {warm:8.3f} {cold / warm:10.1f}")
    verdict = "meets" if worst < TARGET_S else "MISSES"
    print(f"slowest warm load {worst:.3f} s: {verdict} the {TARGET_S:.0f} s target")


if __name__ == "__main__":
    main()
