"""Benchmark: the confidential mode on every shipped stockpile config (issue 20).

For each ``examples/stockpile/*.yaml``: the centralised joint LP (build + solve) and the
confidential mode (one OS process per ally, process start included) on the same scenarios, in
the same run. Prints wall and CPU seconds (the coordinator's and its children's, from
``resource.getrusage``), the load average, proposals, the certified gap (plan vs the
coordinator's lower bound), the gap to the centralised optimum, the share of the value of
cooperation captured, and the ratio of the confidential to the centralised wall time; first
the versions of the solvers the proposals depend on (Clarabel, HiGHS).
Target (issue 20): within 1 % of the centralised cost in under 10 minutes per config on the
2-core machine.

Run: ``python benchmarks/bench_stockpile_confidential.py [CONFIG ...]``.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from importlib.metadata import version
from pathlib import Path

from critmin.optimisation.stockpile import build_model, load_config, scenarios_from_config
from critmin.optimisation.stockpile.arrangements import solve_coalition
from critmin.optimisation.stockpile.decomposed import decomposed_solve

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "stockpile"
TARGET_S = 600.0
TARGET_GAP = 0.01


def cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run(path: Path) -> bool:
    config = load_config(path)
    scenarios = scenarios_from_config(config)
    wall, cpu = time.perf_counter(), cpu_seconds()
    central = build_model(config, scenarios, transfers=True).solve().objective_usd
    central_wall, central_cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    alone = sum(solve_coalition(config, scenarios, [a]).objective_usd for a in config.allies)
    wall, cpu = time.perf_counter(), cpu_seconds()
    result = decomposed_solve(config, scenarios)
    conf_wall, conf_cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    gap = (result.cost_usd - central) / central
    saving = alone - central
    captured = (alone - result.cost_usd) / saving if saving > 1e-9 * central else float("nan")
    met = gap <= TARGET_GAP and conf_wall < TARGET_S and result.converged
    print(
        f"{path.stem}: {scenarios.n_scenarios} scenarios; centralised {central:,.0f} USD in "
        f"{central_wall:.1f} s wall / {central_cpu:.1f} s CPU; confidential {result.cost_usd:,.0f} "
        f"USD in {conf_wall:.1f} s wall / {conf_cpu:.1f} s CPU (children included), "
        f"{result.iterations} proposals, certified gap {result.gap:.1e}, gap to centralised "
        f"{gap:.1e}, value of cooperation {saving:,.0f} USD ({captured:.2%} captured); "
        f"confidential / centralised wall {conf_wall / central_wall:.1f}; load "
        f"{os.getloadavg()[0]:.1f}; target {'met' if met else 'MISSED'}",
        flush=True,
    )
    return met


def main() -> None:
    paths = [Path(p) for p in sys.argv[1:]] or sorted(EXAMPLES.glob("*.yaml"))
    print(f"clarabel {version('clarabel')}, highspy {version('highspy')}", flush=True)
    results = [run(p) for p in paths]
    print(f"{sum(results)} of {len(results)} configs within {TARGET_GAP:.0%} in < {TARGET_S:.0f} s")


if __name__ == "__main__":
    main()
