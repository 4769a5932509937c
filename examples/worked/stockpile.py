"""Worked example 3: how much should the US and Japan stockpile, and what does coordinating
save?

Question: against China's targeted export bans (sampled by the simulation engine), which
holdings of separated oxide and NdFeB magnets should each ally keep, what does that cost,
how does it compare with each ally stockpiling alone and with the 60-days-of-consumption rule
of thumb, and does the answer depend on how many representative scenarios are kept?

Run: ``python examples/worked/stockpile.py`` (about 20 s). Method:
docs/methods/stockpile.md; config: examples/stockpile/us_japan_targeted_bans.yaml.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from critmin.optimisation.stockpile import run_stockpile

pd.set_option("display.width", 120)
pd.set_option("display.max_columns", 12)
CONFIG = Path(__file__).parents[1] / "stockpile" / "us_japan_targeted_bans.yaml"

run = run_stockpile(CONFIG, k_sweep=[5, 20])
report = run.report
summary = report.summary()

# 1. Holdings (t and days of each ally's consumption) in each arrangement
holdings = report.holdings_frame()
print("Holdings by arrangement")
print(holdings.round(1).to_string(index=False))

# 2. What each arrangement costs over the horizon (holding + expected damage), in M USD
print("\nCost over the horizon (M USD)")
for key in ("alone_cost_usd", "joint_cost_usd", "rule_cost_usd"):
    print(f"  {key.removesuffix('_usd'):24s} {summary[key] / 1e6:10.2f}")
print(f"  value of cooperation     {summary['value_of_cooperation_usd'] / 1e6:10.3f}")
vss = summary["value_of_stochastic_solution_usd"]
print(f"  value of the stochastic solution {vss / 1e6:8.1f}  (vs planning for the mean scenario)")

# 3. The saving split between the allies: nobody pays more than alone
costs = report.costs_frame().set_index("ally")
print("\nCost per ally (M USD): alone, and its share of the joint cost")
print((costs[["alone_cost_usd", "split_proportional_usd", "split_shapley_usd"]] / 1e6).round(3))
assert (costs["split_shapley_usd"] <= costs["alone_cost_usd"] + 1e-6).all()

# 4. The effect of K, the number of representative scenarios kept from the ensemble
if run.k_sensitivity is not None:
    print("\nEffect of K")
    print(run.k_sensitivity.round(2).to_string(index=False))
