"""Worked example 1: where is the US-Japan alliance exposed?

Question: in 2024, at which stage of the rare-earth, gallium and graphite chains is supply
most concentrated; how exposed are the US and Japan (GeoPolRisk); and how much of the
alliance's demand could its own capacity plus Australia's surplus cover by 2030?

Run: ``python examples/worked/exposure.py`` (about 10 s). Methods: docs/methods/metrics.md
and docs/methods/geopolrisk.md.
"""

from __future__ import annotations

import pandas as pd

from critmin.analysis import concentration, gap_analysis, geopolrisk, stage_output

pd.set_option("display.width", 120)
pd.set_option("display.max_columns", 12)
COMMODITIES = ["rare_earths", "gallium", "graphite"]
ALLIANCE = ("USA", "JPN")

# 1. Concentration: HHI (0-10,000), China's and the alliance's shares of world output by stage
shares = concentration(stage_output(COMMODITIES, [2024]), {"CHN": ("CHN",), "US-JP": ALLIANCE})
print("Concentration by stage, 2024")
conc = shares[["commodity", "stage", "hhi", "share_CHN", "share_US-JP", "unit"]].round(3)
print(conc.astype(object).where(conc.notna(), "no data"))  # e.g. allied metal output unknown
worst = shares.loc[shares["share_CHN"].idxmax()]
print(
    f"\nMost concentrated in China: {worst['commodity']} {worst['stage']} "
    f"(China {worst['share_CHN']:.0%}, HHI {worst['hhi']:,.0f})"
)

# 2. GeoPolRisk: production HHI x import risk of each ally's imports (geopolrisk-py method)
risk = geopolrisk(["rare_earths", "gallium", "graphite"], list(ALLIANCE), [2024])
print("\nGeoPolRisk, 2024")
risk_table = risk[["commodity", "importer", "hhi", "import_risk", "geopolrisk_score"]].round(4)
print(risk_table.astype(object).where(risk_table.notna(), "no data"))

# 3. Gaps: allied demand against own capacity plus the friends' surplus, and 2030 projects
gaps = gap_analysis(ALLIANCE, ("AUS",), year=2024, horizon=2030, commodities=COMMODITIES)
print("\nGaps (demand minus own capacity and Australia's surplus)")
columns = ["commodity", "stage", "demand", "gap", "gap_pct", "bottleneck"]
table = gaps[columns].round(2)
print(table.astype(object).where(table.notna(), "no data"))  # unknown, not zero
unknown = gaps[gaps["demand"].isna()]
if not unknown.empty:
    cases = ", ".join(f"{r.commodity}/{r.stage}" for r in unknown.itertuples())
    print(f"no data: allied demand unknown for {cases} (no trade data for that stage, so "
          "apparent consumption cannot be computed)")  # fmt: skip
bottlenecks = gaps[gaps["bottleneck"]].itertuples()
named = [f"{r.commodity}/{r.stage} ({r.gap_pct:.0f}% short)" for r in bottlenecks]
print("\nBottleneck stages: " + ", ".join(named))
