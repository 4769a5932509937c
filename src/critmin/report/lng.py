"""The report's LNG section: Japan's suppliers and the shipped LNG scenarios, each run
without and with the 2030 US contract volumes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from critmin.lng import hhi, load_lng_scenario, supplier_shares
from critmin.lng.api import compare_us_volumes

SUMMARY_COLUMNS = [
    "gap_t",
    "peak_gap_share",
    "months_with_gap",
    "months_bridged",
    "storage_exhausted",
    "min_storage_days",
    "unserved_t",
    "peak_price_index",
    "extra_cost_usd",
    "supplier_hhi",
    "us_share",
    "russia_share",
]


def lng_tables(files: tuple[Path, ...], year: int) -> dict[str, pd.DataFrame]:
    """Japan's LNG suppliers in ``year`` (BACI, HS 271111) and, for every scenario file, its
    summary and monthly gap without and with the 2030 US volumes."""
    shares = supplier_shares(year).assign(year=year)
    shares["supplier_hhi"] = hhi(shares.set_index("source")["share"])
    summaries, monthly = [], []
    for file in files:
        scenario = load_lng_scenario(file)
        comparison = compare_us_volumes(scenario)
        summary = comparison.summary()
        keep = ["variant", *[c for c in SUMMARY_COLUMNS if c in summary.columns]]
        name = scenario.scenario.name
        summaries.append(summary[keep].assign(scenario=name, file=file.name))
        months = comparison.monthly()[
            ["variant", "month", "gap_share", "storage_days", "extra_cost_usd"]
        ]
        monthly.append(months.assign(scenario=name))
    empty = pd.DataFrame(columns=["scenario", "variant"])
    return {
        "lng_suppliers": shares,
        "lng_scenarios": pd.concat(summaries, ignore_index=True) if summaries else empty,
        "lng_monthly": pd.concat(monthly, ignore_index=True) if monthly else empty,
    }
