"""Backtests: historical export-control episodes replayed against observed trade and prices."""

from critmin.simulation.backtests.runner import episode_names, run_backtest

__all__ = ["episode_names", "run_backtest"]
