"""The report's stockpile section: alone versus complementary holdings and their costs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from critmin.optimisation.stockpile import run_stockpile


def stockpile_tables(config_file: Path) -> dict[str, pd.DataFrame]:
    """``run_stockpile`` on ``config_file``: holdings per arrangement, ally and material (t and
    days of consumption), cost per ally with the two splits, and the headline comparisons."""
    run = run_stockpile(config_file)
    report = run.report
    summary = {
        **report.summary(),
        "config": config_file.name,
        "scenarios_kept": int(run.scenarios.probability.size),
        "source": "critmin.optimisation.stockpile (docs/methods/stockpile.md); shortfall "
        "scenarios from the simulation engine",
    }
    return {
        "stockpile_holdings": report.holdings_frame().assign(config=config_file.name),
        "stockpile_costs": report.costs_frame().assign(config=config_file.name),
        "stockpile_summary": pd.DataFrame([summary]),
    }
