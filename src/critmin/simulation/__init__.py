"""Disruption simulation: scenario files, market clearing (fast and exact), ensembles.

``load_scenario(path)`` reads and validates a scenario; ``simulate(scenario, engine)`` runs its
central case month by month; ``run_ensemble(scenario, samples, seed, ...)`` samples it. See
``docs/methods/simulation.md``.
"""

from __future__ import annotations

from critmin.simulation.results import SimulationResult
from critmin.simulation.runner import run_ensemble, simulate
from critmin.simulation.scenario import Scenario, load_scenario, parse_scenario

__all__ = [
    "Scenario",
    "SimulationResult",
    "load_scenario",
    "parse_scenario",
    "run_ensemble",
    "simulate",
]
