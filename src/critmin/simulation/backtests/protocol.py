"""Leave-one-episode-out: which parameter values an episode may be scored with.

``estimates.yaml`` lists every behavioural parameter an episode has informed (rule-file
approval rates, leakage and licence spread; market-core parameters), its prior and its
estimates, each made on one episode. :func:`held_out` gives, for an episode, each
parameter's value from the *other* episodes' estimates (their mean), or the prior where there
is none, with the episodes it came from, so that no parameter is scored on an episode it was
estimated on (:func:`check_held_out`). :func:`estimate` computes one estimate (a bisection
on its target for ``method: fit``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from critmin.errors import DataError, unknown_value
from critmin.simulation.backtests.runner import RULE_PARAMETERS, episode_names, run_backtest

ESTIMATES_FILE = Path(__file__).with_name("estimates.yaml")
FIT_STEPS = 40
"""Bisection steps of a fit (the bracket shrinks by 2^-40)."""


@cache
def estimates_data() -> dict[str, Any]:
    """Parsed ``estimates.yaml`` (checked: known kinds, methods and episodes)."""
    data: dict[str, Any] = yaml.safe_load(ESTIMATES_FILE.read_text(encoding="utf-8"))
    names = set(episode_names())
    for param, spec in data.items():
        if spec["kind"] not in ("rule", "market"):
            raise DataError(f"estimates.yaml: {param}.kind {spec['kind']!r}: not rule or market")
        if spec["kind"] == "rule" and param not in RULE_PARAMETERS:
            raise DataError(f"estimates.yaml: {param}: not a rule parameter {RULE_PARAMETERS}")
        for k, est in enumerate(spec["estimates"]):
            where = f"estimates.yaml: {param}.estimates[{k}]"
            if est["episode"] not in names:
                raise DataError(f"{where}.episode {est['episode']!r}: no such episode")
            if est["method"] not in ("fit", "data", "chosen"):
                raise DataError(f"{where}.method {est['method']!r}: not fit, data or chosen")
    return data


@dataclass(frozen=True)
class Value:
    """A parameter's value for one episode, the episodes it was estimated on (empty: the
    prior) and the range the ensemble draws it from."""

    parameter: str
    kind: str
    value: float
    estimated_on: tuple[str, ...]
    low: float
    high: float
    basis: str


@cache
def estimate(parameter: str, index: int) -> float:
    """Estimate ``index`` of ``parameter`` in ``estimates.yaml``: its value, or for ``method:
    fit`` the value in [low, high] that makes the model meet the target's observation (every
    other parameter at its shipped value; the bound if the target is out of reach)."""
    spec = estimates_data()[parameter]
    est = spec["estimates"][index]
    if est["method"] != "fit":
        return float(est["value"])

    def gap(x: float) -> float:
        if spec["kind"] == "rule":
            frame = run_backtest(est["episode"], parameters=None, **{parameter: x})
        else:
            frame = run_backtest(est["episode"], parameters={parameter: x})
        row = frame[frame.target == est["target"]].iloc[0]
        return float(row.model - row.observed)

    low, high = float(est["low"]), float(est["high"])
    g_low, g_high = gap(low), gap(high)
    if g_low * g_high > 0:
        return low if abs(g_low) < abs(g_high) else high
    return bisect(gap, low, high, g_high > g_low)


def bisect(gap: Callable[[float], float], low: float, high: float, rising: bool) -> float:
    """The root of ``gap`` in [low, high] (a sign change there; ``rising``: gap grows with
    its argument) after :data:`FIT_STEPS` halvings of the bracket."""
    for _ in range(FIT_STEPS):
        mid = 0.5 * (low + high)
        if (gap(mid) < 0) == rising:
            low = mid
        else:
            high = mid
    return 0.5 * (low + high)


def held_out(episode: str) -> dict[str, Value]:
    """Every parameter of ``estimates.yaml`` for scoring ``episode``: the mean of its
    estimates on other episodes, else its prior; range = prior (with its stated ``low`` and
    ``high``, if any) and those estimates."""
    if episode not in episode_names():
        raise unknown_value("backtest", episode, episode_names())
    out = {}
    for param, spec in estimates_data().items():
        others = [
            (est["episode"], estimate(param, k))
            for k, est in enumerate(spec["estimates"])
            if est["episode"] != episode
        ]
        prior = float(spec["prior"]["value"])
        stated = [float(spec["prior"][k]) for k in ("low", "high") if k in spec["prior"]]
        points = [prior, *stated] + [v for _, v in others]
        if others:
            value = sum(v for _, v in others) / len(others)
            basis = "mean of the estimates on " + ", ".join(e for e, _ in others)
        else:
            value, basis = prior, "prior: " + spec["prior"]["basis"]
        out[param] = Value(
            param,
            spec["kind"],
            value,
            tuple(e for e, _ in others),
            min(points),
            max(points),
            basis,
        )
    return out


def check_held_out(episode: str, values: dict[str, Value]) -> None:
    """Raise if a value for scoring ``episode`` was estimated on it, or if a parameter that
    ``episode`` informed is missing from ``values`` (it would run at the in-sample value)."""
    for v in values.values():
        if episode in v.estimated_on:
            raise DataError(
                f"parameter {v.parameter}: estimated on {episode}, cannot score {episode}"
            )
    missing = set(estimates_data()) - set(values)
    if missing:
        raise DataError(f"{episode}: no held-out value for {', '.join(sorted(missing))}")


def estimates_table() -> pd.DataFrame:
    """One row per estimate: parameter, episode, target, method, value, basis."""
    rows = []
    for param, spec in estimates_data().items():
        rows.append(
            {
                "parameter": param,
                "episode": "(prior)",
                "target": "",
                "method": "prior",
                "value": float(spec["prior"]["value"]),
                "basis": spec["prior"]["basis"],
            }
        )
        for k, est in enumerate(spec["estimates"]):
            basis = est.get("basis") or (
                f"bisection on {est['target']} in [{est['low']}, {est['high']}], "
                "other parameters as shipped"
            )
            rows.append(
                {
                    "parameter": param,
                    "episode": est["episode"],
                    "target": est["target"],
                    "method": est["method"],
                    "value": estimate(param, k),
                    "basis": basis,
                }
            )
    return pd.DataFrame(rows)


def scored_with(values: dict[str, Value]) -> tuple[dict[str, float], dict[str, float]]:
    """(rule-file values, market-core values) of ``values`` for :func:`run_backtest`."""
    rule = {k: v.value for k, v in values.items() if v.kind == "rule"}
    return rule, {k: v.value for k, v in values.items() if v.kind == "market"}
