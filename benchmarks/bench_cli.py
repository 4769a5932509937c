"""Benchmark: CPU time of the command line, each command in a fresh process.

Targets (issue 18): ``critmin --help`` and ``critmin data list`` under 1 s of CPU, ``critmin
metrics --all`` under 5 s and the report (``critmin report``) under 10 s. CPU time is user +
system time of the child process (``resource.getrusage(RUSAGE_CHILDREN)``), so it does not
depend on how busy the machine is; the wall time and the load average are printed beside it.
Baseline in the same run: the bare interpreter (``python -c pass``) and ``import critmin``.
Run: ``python benchmarks/bench_cli.py`` (about a minute); ``--quick`` skips the report.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPEATS = 3  # the median of three runs of each short command


def _cpu_of(args: list[str], cwd: Path) -> tuple[float, float]:
    """CPU seconds (user + system) and wall seconds of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(args, cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                   env={**os.environ, "COLUMNS": "120"})  # fmt: skip
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), wall


def _median(args: list[str], cwd: Path, repeats: int) -> tuple[float, float]:
    runs = sorted(_cpu_of(args, cwd) for _ in range(repeats))
    return runs[len(runs) // 2]


def main() -> None:
    quick = "--quick" in sys.argv
    python = sys.executable
    critmin = [python, "-m", "critmin"]
    root = Path(__file__).resolve().parents[1]
    print(f"load average {os.getloadavg()[0]:.2f} (CPU time depends on it far less than wall time)")
    with tempfile.TemporaryDirectory() as folder:
        cases: list[tuple[str, list[str], float | None, int]] = [
            ("python -c pass (baseline)", [python, "-c", "pass"], None, REPEATS),
            ("import critmin (baseline)", [python, "-c", "import critmin"], None, REPEATS),
            ("critmin --help", [*critmin, "--help"], 1.0, REPEATS),
            ("critmin --version", [*critmin, "--version"], 1.0, REPEATS),
            ("critmin data list", [*critmin, "data", "list"], 1.0, REPEATS),
            ("critmin metrics --all --format csv",
             [*critmin, "metrics", "--all", "--format", "csv"], 5.0, 1),
            ("critmin metrics --all (table)", [*critmin, "metrics", "--all"], 5.0, 1),
        ]  # fmt: skip
        if not quick:
            out = str(Path(folder) / "report.html")
            cases.append(("critmin report", [*critmin, "report", "-q", "--out", out], 10.0, 1))
        base = None
        for label, args, target, repeats in cases:
            cpu, wall = _median(args, root, repeats)
            base = base if base is not None else cpu
            verdict = ""
            if target is not None:
                verdict = f"target {target:g} s: {'meets' if cpu < target else 'MISSES'}"
            print(f"{label:38s} CPU {cpu:6.2f} s ({cpu / base:5.1f}x bare python)  "
                  f"wall {wall:6.2f} s  {verdict}")  # fmt: skip


if __name__ == "__main__":
    main()
