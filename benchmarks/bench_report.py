"""Benchmark: the alliance report (the README's first command) against its 120 s target.

Target (issue 10): ``critmin report`` writes report.html and its results folder in under
120 s on the 2-core machine. The first build in a process pays for loading the data, the
calibrations and the compiled kernel; the second, in the same process, is the baseline for
what the sections themselves cost. Run: ``python benchmarks/bench_report.py``.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from critmin.report import build_report, load_config, results_folder

TARGET_S = 120.0


def main() -> None:
    start = time.perf_counter()
    import critmin.report.results  # noqa: F401  (imports counted in the first build)

    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "report.html"
        build_report(load_config(None), out, quiet=True)
        cold = time.perf_counter() - start
        start = time.perf_counter()
        build_report(load_config(None), out, quiet=True)
        warm = time.perf_counter() - start
        size = out.stat().st_size / 1e6
        tables = len(list(results_folder(out).glob("*.csv")))
    verdict = "meets" if cold < TARGET_S else "MISSES"
    print(
        f"report, first build in this process: {cold:7.1f} s  (target {TARGET_S:.0f} s: "
        f"{verdict}; {TARGET_S / cold:.1f}x margin)"
    )
    ratio = cold / warm
    print(f"report, second build (baseline):     {warm:7.1f} s  (first / second: {ratio:.2f}x)")
    print(f"report.html {size:.1f} MB, {tables} tables in the results folder")


if __name__ == "__main__":
    main()
