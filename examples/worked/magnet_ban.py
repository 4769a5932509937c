"""Worked example 2: what does a Chinese ban on rare-earth exports to the US and Japan do?

Question: China stops exports of separated rare earths, metals and NdFeB magnets to the US
and Japan for 12 months from March 2026 (``examples/scenarios/china_ree_ban_usa_jpn.yaml``).
How much magnet use goes unmet in each ally, how far do prices rise inside and outside
China, and how uncertain is that when the ban's completeness and length are uncertain?

Run: ``python examples/worked/magnet_ban.py`` (about 15 s). Method:
docs/methods/simulation.md.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from critmin.simulation import load_scenario, parse_scenario, run_ensemble, simulate

pd.set_option("display.width", 120)
pd.set_option("display.max_columns", 12)
FILE = Path(__file__).parents[1] / "scenarios" / "china_ree_ban_usa_jpn.yaml"

# 1. The central run: the ban exactly as written, month by month
scenario = load_scenario(FILE)
run = simulate(scenario)
summary = run.summary().set_index(["country", "stage"])
print(f"{scenario.name}: {scenario.description.strip()}\n")
for country in ("USA", "JPN", "CHN"):
    row = summary.loc[(country, "magnet")]
    print(
        f"{country} magnets: {row['expected_shortfall_t']:8,.0f} t unmet over "
        f"{scenario.horizon.months} months ({row['shortfall_share']:.1%} of use), "
        f"peak price index {row['peak_price_index']:.2f}"
    )
prices = run.data["price_index"].sel(stage="magnet", country=["USA", "JPN", "CHN"])
print("\nMagnet price index, first 8 months (1 = base)")
print(prices.to_pandas().head(8).round(3))

# 2. An ensemble: the ban blocks 50-100 % of deliveries and lasts 6-24 months (mode 12)
uncertain = scenario.model_dump(mode="json")
uncertain["name"] = "china-ree-ban-uncertain"
uncertain["events"][0]["fraction"] = {"dist": "uniform", "low": 0.5, "high": 1.0}
uncertain["events"][0]["duration"] = {"dist": "triangular", "low": 6, "mode": 12, "high": 24}
ensemble = run_ensemble(parse_scenario(uncertain), samples=1_000, seed=7)
spread = ensemble.summary().set_index(["country", "stage"])
print("\n1,000 sampled bans: magnet shortfall (t over the horizon)")
print(
    spread.loc[[("USA", "magnet"), ("JPN", "magnet")]][
        ["shortfall_p5_t", "shortfall_p50_t", "shortfall_p95_t", "peak_price_index"]
    ].round(1)
)
