"""The allies' stockpile: a two-stage stochastic program (issue 6).

``run_stockpile(config_or_path)`` does everything and returns dataclasses with pandas frames
(``StockpileRun.report.holdings_frame()``, ``costs_frame()``, ``summary()``, and with
``k_sweep`` the effect of K). Step by step: ``load_config`` reads a YAML file;
``scenarios_from_config`` samples the simulation engine and reduces the ensemble;
``build_model(config, scenarios).solve()`` gives one arrangement's optimum (add constraints
to ``.model`` in between); ``compare_arrangements`` runs alone, joint and the rule of thumb
and reports the value of cooperation, its split, the VSS and the EVPI. See
``docs/methods/stockpile.md``.
"""

from __future__ import annotations

from critmin.optimisation.stockpile.api import StockpileRun, run_stockpile
from critmin.optimisation.stockpile.arrangements import (
    ArrangementReport,
    compare_arrangements,
    sensitivity_to_k,
)
from critmin.optimisation.stockpile.config import StockpileConfig, load_config, parse_config
from critmin.optimisation.stockpile.model import StockpileModel, build_model
from critmin.optimisation.stockpile.results import StockpileSolution
from critmin.optimisation.stockpile.scenarios import (
    ScenarioSet,
    engine_scenarios,
    make_scenarios,
    reduce_kmedoids,
    scenarios_from_config,
)

__all__ = [
    "ArrangementReport",
    "ScenarioSet",
    "StockpileConfig",
    "StockpileModel",
    "StockpileRun",
    "StockpileSolution",
    "build_model",
    "compare_arrangements",
    "engine_scenarios",
    "load_config",
    "make_scenarios",
    "parse_config",
    "reduce_kmedoids",
    "run_stockpile",
    "scenarios_from_config",
    "sensitivity_to_k",
]
