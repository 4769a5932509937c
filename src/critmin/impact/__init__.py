"""Economy-wide impacts of a disruption: input-output tables, bridges from chain stages and
end-use sectors to industries, output and value-added losses by industry and in GDP,
probability-weighted, and the USGS-style sweep with its comparison to USGS's 2025 model.

``scenario_impacts(scenario, "USA")`` values one scenario file (central run or ensemble);
``run_sweep()`` runs the one-year disruption scenarios of every simulable commodity.
Method: ``docs/methods/impact.md``.
"""

from __future__ import annotations

from critmin.impact.io_tables import IOTable, io_table, load_io_file
from critmin.impact.market_inputs import MarketInputs, central, from_ensemble
from critmin.impact.model import ImpactResult, impacts
from critmin.impact.sweep import SweepResult, ranking_figure, run_sweep
from critmin.impact.usgs import comparison, rank_correlation
from critmin.simulation.scenario import Scenario


def scenario_impacts(
    scenario: Scenario,
    country: str,
    samples: int | None = None,
    seed: int = 0,
    forward: bool = True,
    table: IOTable | None = None,
) -> ImpactResult:
    """Impacts of ``scenario`` on ``country``: its central run, or ``samples`` sampled
    scenarios weighted equally."""
    if samples is None:
        inputs = central({scenario.name: scenario})
    else:
        inputs = from_ensemble(scenario, samples=samples, seed=seed)
    return impacts(inputs, country, table=table, forward=forward)


__all__ = [
    "IOTable",
    "ImpactResult",
    "MarketInputs",
    "SweepResult",
    "comparison",
    "impacts",
    "io_table",
    "load_io_file",
    "rank_correlation",
    "ranking_figure",
    "run_sweep",
    "scenario_impacts",
]
