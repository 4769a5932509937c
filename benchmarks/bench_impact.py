"""Benchmark: the USGS-style impact sweep over every simulable commodity, against its
10-minute target on the 2-core machine (issue 21).

Prints CPU time (this process and its children, ``resource.getrusage``) beside wall time
and the load average, since the machine is shared. The baseline in the same run is the
market alone: the central runs of the sweep's scenarios without the input-output model, so
the ratio shows what valuing the impacts adds. Run: ``python benchmarks/bench_impact.py``.
"""

from __future__ import annotations

import os
import resource
import time

from critmin.impact import run_sweep
from critmin.impact.market_inputs import central
from critmin.impact.sweep import plan, sweep_config

TARGET_S = 600.0


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    cpu, wall = _cpu(), time.perf_counter()
    result = run_sweep()
    sweep_cpu, sweep_wall = _cpu() - cpu, time.perf_counter() - wall
    load = os.getloadavg()
    ranking = result.ranking()
    simulated = sorted(ranking["commodity"].unique())
    scenarios = len(result.scenarios)
    cpu, wall = _cpu(), time.perf_counter()
    config = sweep_config()
    for name in simulated:  # baseline: the same scenarios through the market only
        planned = plan(name, config)
        central(planned.scenarios, planned.probabilities())
    market_cpu, market_wall = _cpu() - cpu, time.perf_counter() - wall
    verdict = "meets" if sweep_wall < TARGET_S else "MISSES"
    print(
        f"impact sweep: {len(simulated)} simulable commodities ({', '.join(simulated)}), "
        f"{scenarios} scenarios x {len(result.meta['countries'])} countries; "
        f"{len(result.skipped)} commodities not simulable yet"
    )
    print(
        f"sweep (plan + market + IO):  wall {sweep_wall:7.1f} s  CPU {sweep_cpu:7.1f} s  "
        f"(target {TARGET_S:.0f} s wall: {verdict}; {TARGET_S / sweep_wall:.0f}x margin)"
    )
    print(
        f"baseline (market runs only): wall {market_wall:7.1f} s  CPU {market_cpu:7.1f} s  "
        f"(sweep / baseline CPU: {sweep_cpu / max(market_cpu, 1e-9):.2f}x)"
    )
    print(f"load average (1, 5, 15 min): {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
