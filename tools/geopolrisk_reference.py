"""Run geopolrisk-py 2.0.1 on given cases (and, with --benchmark, critmin on the same cases).

Executed by :mod:`reference_env` inside the reference environment. Writes to --out:
``reference.csv`` (gprs_calc's table with critmin commodity ids and ISO3 importers),
``wgi_view.csv`` (the political-stability values geopolrisk-py joins to each BACI partner),
``unassessable.json`` (raw materials gprs_calc cannot assess) and, with --benchmark,
``timings.json`` (seconds for geopolrisk-py and critmin in this same process).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import time
from pathlib import Path

import pandas as pd

NAMES = {"USA": "USA", "JPN": "Japan"}  # geopolrisk-py's names (its Country_ISO table)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--commodities", nargs="+", required=True)
    parser.add_argument("--countries", nargs="+", default=["USA", "JPN"])
    parser.add_argument("--years", nargs="+", type=int, default=list(range(2018, 2025)))
    parser.add_argument("--benchmark", action="store_true")
    args = parser.parse_args()

    started = time.perf_counter()
    from geopolrisk.assessment.database import databases
    from geopolrisk.assessment.main import gprs_calc

    load_s = time.perf_counter() - started
    from critmin.analysis.geopolrisk import geopolrisk
    from critmin.data import tables

    lib = Path(databases.directory_databases)
    hs_map = pd.read_sql_query(
        'SELECT "Reference ID" AS reference_id, Sheet_name AS wmd_sheet FROM "HS Code Map" '
        "WHERE \"HS Code\" != 'Not Available'",
        sqlite3.connect(lib / "world_mining_data.db"),
    )
    ids = tables.commodities()[["commodity", "wmd_sheet"]].merge(hs_map, on="wmd_sheet")
    to_reference = dict(zip(ids["commodity"], ids["reference_id"], strict=True))
    assessable = [c for c in args.commodities if c in to_reference]
    unassessable = sorted(set(args.commodities) - set(assessable))
    (args.out / "unassessable.json").write_text(json.dumps(unassessable), encoding="utf-8")

    started = time.perf_counter()
    result = gprs_calc(
        args.years, [NAMES[c] for c in args.countries], [to_reference[c] for c in assessable]
    )
    reference_s = time.perf_counter() - started
    from_reference = {v: k for k, v in to_reference.items()}
    result["commodity"] = result["Raw Material"].map(from_reference)
    result["importer"] = result["Country [Economic Entity]"].map({v: k for k, v in NAMES.items()})
    result.to_csv(args.out / "reference.csv", index=False)

    view = pd.read_sql_query(
        "SELECT Year AS year, country_code, wgi FROM v_wgi_year_country",
        sqlite3.connect(lib / "baci.db"),
    )
    view.to_csv(args.out / "wgi_view.csv", index=False)

    if args.benchmark:
        geopolrisk(assessable, args.countries, args.years)  # warm the data caches
        runs = []
        for _ in range(5):
            started = time.perf_counter()
            geopolrisk(assessable, args.countries, args.years)
            runs.append(time.perf_counter() - started)
        timings = {
            "cases": len(result),
            "geopolrisk_py_load_s": load_s,
            "geopolrisk_py_s": reference_s,
            "critmin_s": min(runs),
        }
        (args.out / "timings.json").write_text(json.dumps(timings, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
