"""The allies' stockpile: a two-stage stochastic program (issue 6).

``load_config`` reads a YAML file; ``scenarios_from_config`` samples the simulation engine and
reduces the ensemble; ``build_model(config, scenarios).solve()`` gives one arrangement's
optimum; ``compare_arrangements`` runs alone, joint and the rule of thumb and reports the
value of cooperation, its split, the VSS and the EVPI. See ``docs/methods/stockpile.md``.
"""

from __future__ import annotations

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
    "ScenarioSet",
    "StockpileConfig",
    "StockpileModel",
    "StockpileSolution",
    "build_model",
    "engine_scenarios",
    "load_config",
    "make_scenarios",
    "parse_config",
    "reduce_kmedoids",
    "scenarios_from_config",
]
