"""The report's finance sections: the project portfolio with its frontier, and the cost of a
price floor with and without dumping."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from critmin.analysis.pricefloor import FloorTerms, dumping_preset, estimate, value_floor
from critmin.analysis.pricefloor.history import UNITS
from critmin.errors import InputError
from critmin.optimisation.portfolio.config import load_config
from critmin.optimisation.portfolio.results import solve_portfolio
from critmin.report.config import PriceFloorSettings

DUMPING_REGIMES = ("none", "moderate", "severe")


def portfolio_tables(
    config_file: Path, budgets: dict[str, float] | None = None
) -> dict[str, pd.DataFrame]:
    """``solve_portfolio`` on ``config_file`` (party budgets replaced by ``budgets``, USD):
    chosen projects and instruments, metrics per stage, the budget frontier and headlines."""
    config = load_config(config_file)
    if budgets:
        parties = dict(config.parties)
        for party, budget in budgets.items():
            if party not in parties:
                raise InputError(
                    f"budgets.{party}: not a party of {config_file.name}; valid: "
                    f"{', '.join(parties)}"
                )
            parties[party] = parties[party].model_copy(update={"budget_usd": budget})
        config = config.model_copy(update={"parties": parties})
    result = solve_portfolio(config)
    objective = result.objective
    summary = {
        "config": config_file.name,
        "objective": objective["kind"],
        "unit": objective["unit"],
        "baseline": objective["baseline"],
        "value": objective["value"],
        "improvement": objective["improvement"],
        "budget_usd": objective["budget_usd"],
        "fiscal_cost_usd": objective["fiscal_cost_usd"],
        "optimality_gap": objective["optimality_gap"],
        "projects": ", ".join(objective["projects"]),
        "marginal_value_per_usd": result.marginal_value["per_usd"],
        "marginal_value_method": result.marginal_value["method"],
        "source": "critmin.optimisation.portfolio (docs/methods/portfolio.md); projects "
        "from critmin.projects (sources per project)",
    }
    tag = {"config": config_file.name}
    return {
        "portfolio_selected": result.selected.assign(**tag),
        "portfolio_metrics": result.metrics.assign(**tag),
        "portfolio_frontier": result.frontier.assign(**tag),
        "portfolio_summary": pd.DataFrame([summary]),
    }


def pricefloor_tables(settings: PriceFloorSettings, seed: int) -> dict[str, pd.DataFrame]:
    """The floor valued without dumping and under the moderate and severe dumping presets,
    on the same random numbers: totals and per-year expected and P95 costs."""
    terms = FloorTerms(
        settings.floor, settings.years, settings.volume_tpa, unit=UNITS[settings.commodity]
    )
    totals, annual = [], []
    for regime in DUMPING_REGIMES:
        process = estimate(settings.commodity, dumping=dumping_preset(regime))
        valued = value_floor(process, terms, paths=settings.paths, seed=seed)
        totals.append(
            {
                "dumping": regime,
                "commodity": settings.commodity,
                "floor": settings.floor,
                "unit": terms.unit,
                "volume_tpa": settings.volume_tpa,
                "years": settings.years,
                "expected_cost_usd": valued.expected_cost,
                "p95_cost_usd": valued.p95_cost,
                "present_value_usd": valued.present_value,
                "present_value_p95_usd": valued.present_value_p95,
                "present_value_se_usd": valued.present_value_se,
                "probability_of_payout": valued.probability_of_payout,
                "reference_price_start": float(process.s0),
                "paths": valued.paths,
                "source": "critmin.analysis.pricefloor (docs/methods/pricefloor.md); "
                f"price model estimated from {process.estimated_from}",
            }
        )
        annual.append(valued.annual.assign(dumping=regime))
    return {
        "pricefloor_summary": pd.DataFrame(totals),
        "pricefloor_annual": pd.concat(annual, ignore_index=True),
    }
