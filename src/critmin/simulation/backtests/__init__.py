"""Backtests: historical export-control episodes replayed against observed trade and prices."""

from critmin.simulation.backtests.runner import (
    cross_validation,
    episode_names,
    run_backtest,
)

__all__ = ["cross_validation", "episode_names", "run_backtest"]
