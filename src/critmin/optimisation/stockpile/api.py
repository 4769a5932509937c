"""One call for the whole comparison: ``run_stockpile(config)`` loads (or takes) a config,
samples and reduces its scenarios, solves every arrangement and, on request, the effect of K.
The report (``critmin.report``) and the CLI use it; results are dataclasses with pandas
frames (``ArrangementReport.holdings_frame()``, ``costs_frame()``, ``summary()``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from critmin.errors import InputError
from critmin.optimisation.stockpile.arrangements import (
    ArrangementReport,
    compare_arrangements,
    sensitivity_to_k,
)
from critmin.optimisation.stockpile.config import (
    EngineScenarios,
    StockpileConfig,
    load_config,
)
from critmin.optimisation.stockpile.fixed_point import (
    DEFAULT_MAX_ITERATIONS,
    DEFAULT_TOLERANCE,
    FixedPoint,
    market_consistent,
)
from critmin.optimisation.stockpile.market_check import MarketCheck
from critmin.optimisation.stockpile.market_check import through_market as through_market_check
from critmin.optimisation.stockpile.scenarios import (
    ScenarioSet,
    full_scenarios,
    reduce_for_config,
)


@dataclass
class StockpileRun:
    """A solved comparison: the config, the scenarios used, every arrangement and, when
    asked, the effect of K (``k_sensitivity``: one row per K, see ``sensitivity_to_k``) and
    the joint plan run through the market (``market_check``) and the market-consistent
    iteration (``fixed_point``)."""

    config: StockpileConfig
    scenarios: ScenarioSet
    report: ArrangementReport
    k_sensitivity: pd.DataFrame | None = None
    market_check: MarketCheck | None = None
    fixed_point: FixedPoint | None = None


def run_stockpile(
    config: StockpileConfig | Path | str,
    k: int | None = None,
    k_sweep: Sequence[int] | None = None,
    rule: bool = True,
    through_market: bool = False,
    consistent: bool = False,
    tolerance: float = DEFAULT_TOLERANCE,
    max_iterations: int = DEFAULT_MAX_ITERATIONS,
) -> StockpileRun:
    """Compare alone, joint and the rule of thumb for ``config`` (a file or a parsed config).

    ``k`` overrides the config's number of representative scenarios; ``k_sweep`` adds the
    joint and alone optima for each K in it, all reduced from the same engine ensemble;
    ``through_market`` runs the joint plan's releases through the market
    (:func:`~critmin.optimisation.stockpile.market_check.through_market`; engine scenarios);
    ``consistent`` first iterates the joint plan until the LP's saving is the market's
    within ``tolerance`` (:func:`~critmin.optimisation.stockpile.fixed_point.
    market_consistent`), then solves every arrangement with the release effect it measured
    and runs the joint plan through the market."""
    spec = config if isinstance(config, StockpileConfig) else load_config(config)
    if k is not None and k < 1:
        raise InputError(f"k = {k}: at least one scenario must be kept")
    full = full_scenarios(spec)
    engine = isinstance(spec.scenarios, EngineScenarios)
    if engine:
        assert isinstance(spec.scenarios, EngineScenarios)
        scenarios = reduce_for_config(spec, full, k if k is not None else spec.scenarios.k)
    else:
        scenarios = full
    fixed = None
    if consistent:
        if not engine:
            raise InputError("scenarios.source: the market-consistent plan needs engine scenarios")
        fixed = market_consistent(spec, scenarios, tolerance, max_iterations)
        scenarios = fixed.scenarios
    report = compare_arrangements(spec, scenarios, rule=rule)
    if fixed is not None:
        report.notes.append(fixed.note())
    sweep = None
    if k_sweep:
        if not engine:
            raise InputError(
                "k_sweep: explicit scenarios are not reduced; K applies to engine ones"
            )
        sweep = sensitivity_to_k(spec, list(k_sweep), full=full)
    check = (
        through_market_check(spec, scenarios, report.joint)
        if through_market or consistent
        else None
    )
    return StockpileRun(spec, scenarios, report, sweep, check, fixed)
