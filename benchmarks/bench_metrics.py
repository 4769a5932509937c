"""Benchmark: the full indicator sweep, and GeoPolRisk against geopolrisk-py 2.0.1.

1. The full sweep (every embedded commodity x every stage x every country x 2018-2024: HHI,
   top-n, N-1, shares, import reliance, GeoPolRisk), cold and warm (data tables cached).
   Target: at most 5 s warm.
2. GeoPolRisk on the acceptance cases (8 assessable raw materials x USA, JPN x 2018-2024),
   timed for geopolrisk-py's ``gprs_calc`` and for critmin in the same process (the reference
   environment of ``tools/reference_env.py``, created on first use). Target: >= 20x faster,
   identical results (``tests/test_geopolrisk_reference.py``).

Run: ``python benchmarks/bench_metrics.py`` (``--skip-reference`` for part 1 only).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

from critmin.analysis import sweep  # noqa: E402

ISSUE = ["rare_earths", "lithium", "cobalt", "graphite", "gallium",
         "germanium", "nickel", "tungsten", "antimony"]  # fmt: skip
TARGET_WARM_S = 5.0
TARGET_RATIO = 20.0


def bench_sweep() -> None:
    started = time.perf_counter()
    table = sweep(groups={"CHN": ["CHN"], "US-JP": ["USA", "JPN"]})
    cold = time.perf_counter() - started
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        sweep(groups={"CHN": ["CHN"], "US-JP": ["USA", "JPN"]})
        runs.append(time.perf_counter() - started)
    warm = min(runs)
    print(
        f"full sweep: {len(table):,} rows ({table['commodity'].nunique()} commodities, "
        f"{table['country'].nunique()} countries, {table['year'].nunique()} years)"
    )
    print(
        f"  cold {cold:.2f} s, warm {warm:.2f} s (target <= {TARGET_WARM_S:.0f} s warm); "
        f"cold/warm {cold / warm:.1f}x"
    )


def bench_reference() -> None:
    from reference_env import run_reference

    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        run_reference(out, "--commodities", *ISSUE, "--benchmark")
        timings = json.loads((out / "timings.json").read_text())
    ratio = timings["geopolrisk_py_s"] / timings["critmin_s"]
    print(f"GeoPolRisk, {timings['cases']} cases, same process (pandas of the reference env):")
    print(
        f"  geopolrisk-py 2.0.1 gprs_calc: {timings['geopolrisk_py_s']:.2f} s "
        f"(+ {timings['geopolrisk_py_load_s']:.1f} s loading its databases)"
    )
    print(f"  critmin geopolrisk():          {timings['critmin_s']:.3f} s")
    print(f"  ratio: {ratio:.0f}x faster (target >= {TARGET_RATIO:.0f}x)")


if __name__ == "__main__":
    bench_sweep()
    if "--skip-reference" not in sys.argv:
        bench_reference()
