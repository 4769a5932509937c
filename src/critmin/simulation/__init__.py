"""Disruption simulation: scenario files, the market model's runs, ensembles.

``load_scenario(path)`` reads and validates a scenario; ``simulate(scenario, engine)`` runs its
central case month by month; ``run_ensemble(scenario, samples, seed, ...)`` samples it; both
return a :class:`~critmin.market.result.MarketResult`. See ``docs/methods/simulation.md``.
The runners are imported on first use (they load the compiled market core).
"""

from __future__ import annotations

from typing import Any

from critmin.simulation.scenario import Scenario, load_scenario, parse_scenario

__all__ = ["Scenario", "load_scenario", "parse_scenario", "run_ensemble", "simulate"]


def __getattr__(name: str) -> Any:
    if name in ("run_ensemble", "simulate"):
        from critmin.simulation import runner

        return getattr(runner, name)
    raise AttributeError(f"module 'critmin.simulation' has no attribute {name!r}")
