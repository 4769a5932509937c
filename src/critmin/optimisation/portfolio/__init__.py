"""Portfolio selection: which projects to support, with which instruments, within the window.

``solve_portfolio(load_config(path))`` returns a :class:`PortfolioResult`; the MILP is
:class:`PortfolioModel` (linopy + HiGHS). Formulation: ``docs/methods/portfolio.md``.
"""

from critmin.optimisation.portfolio.config import PortfolioConfig, load_config, parse_config
from critmin.optimisation.portfolio.inputs import PortfolioInputs, build_inputs
from critmin.optimisation.portfolio.model import PortfolioModel, objective_value
from critmin.optimisation.portfolio.results import PortfolioResult, brute_force, solve_portfolio

__all__ = [
    "PortfolioConfig",
    "PortfolioInputs",
    "PortfolioModel",
    "PortfolioResult",
    "brute_force",
    "build_inputs",
    "load_config",
    "objective_value",
    "parse_config",
    "solve_portfolio",
]
