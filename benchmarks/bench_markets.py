"""CPU time of the LNG and element-chain runs on the market core (interactive use).

Prints, for each back-end, the CPU seconds of: Sakhalin-2 stop (24 months, one run), the
same compared without and with the 2030 US volumes (six runs: `critmin lng`), the element
chain under the April 2025 rules (24 months: `critmin rules run`), and the three backtests;
the compiled back-end's ratio to the exact one in the same run, and the load average (the
machine may be busy). Numba's compiled code is loaded once before timing.

    python benchmarks/bench_markets.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from pathlib import Path

import critmin.lng as lng
from critmin.lng.api import simulate_lng
from critmin.simulation.backtests import episode_names, run_backtest
from critmin.simulation.elements.model import Shocks, simulate_elements
from critmin.simulation.rules import compile_rules, load_rules

STOP = Path(__file__).resolve().parents[1] / "examples" / "lng" / "sakhalin2_stop_now.yaml"


def _cpu(fn: Callable[[], object], repeat: int) -> float:
    start = time.process_time()
    for _ in range(repeat):
        fn()
    return (time.process_time() - start) / repeat


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    stop = lng.load_lng_scenario(STOP)
    rules = compile_rules([load_rules("china_2025_04_heavy_rare_earths")], "2025-01", 24)
    april = Shocks(months=24, allowed=rules.allowed)
    cases: dict[str, Callable[[str], object]] = {
        "LNG: Sakhalin-2 stop, one run (24 months)": lambda e: simulate_lng(stop, e),
        "LNG: critmin lng (six runs)": lambda e: lng.compare_us_volumes(stop, e),
        "elements: April 2025 rules (24 months)": lambda e: simulate_elements(april, engine=e),
    }
    for case in cases.values():
        case("compiled")  # numba's cache, data tables
    print(f"load average {os.getloadavg()[0]:.2f}; CPU seconds per call (mean of {args.repeat})")
    print(f"{'case':44s} {'compiled':>9s} {'exact':>9s} {'ratio':>7s}")
    for name, case in cases.items():
        compiled = _cpu(lambda case=case: case("compiled"), args.repeat)
        exact = _cpu(lambda case=case: case("exact"), max(args.repeat // 2, 1))
        print(f"{name:44s} {compiled:9.4f} {exact:9.4f} {exact / compiled:7.1f}")
    backtests = _cpu(lambda: [run_backtest(n) for n in episode_names()], args.repeat)
    print(f"{'backtests: all three (compiled)':44s} {backtests:9.4f}")


if __name__ == "__main__":
    main()
