"""An episode's market conditions: cited shifts of demand or supply before its policy.

An episode runs on the base state of the year before it; what moved the market between that
year and the policy (a slump in demand, a cut in supply) is entered in ``episodes.yaml``
under ``conditions`` as a shift of one zone's demand or supply curve of one element
(gallium, germanium markets), growing linearly from none before its ``ramp``'s first month
to its full size in the ramp's last month and held after it. Its size (the factor the
curve's quantities are scaled by, 1 = no shift) is **estimated** on one of the episode's
``calibration`` observations, which are never scored targets: a bisection in ``[low,
high]`` for the factor at which the model meets the observation, every other parameter at
its shipped value. Where the observation is out of reach in the bracket, the estimate is the
least shift that takes the model as close as it gets (within :data:`REACH_TOLERANCE`); a
condition whose observation is unknown is not applied (factor 1) and says why.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np

from critmin.errors import DataError, unknown_value
from critmin.simulation.elements.single import COMMODITY, simulate_single
from critmin.simulation.elements.zones import ZONES

SIDES = ("demand", "supply")
REACH_TOLERANCE = 1e-3
"""Out of reach: the estimate is the least shift whose gap is within this of the smallest
(price index or output ratio; at the storage floor a further 10 % off demand moves the price
by under 1e-4, so a tighter tolerance would chase the floor's slope, not the observation)."""
CALIBRATION_METRICS = frozenset({"single_price_change", "single_output_ratio"})
"""What a condition may be estimated on: prices and output, never export volumes (those are
the scored volume targets and their denominators)."""


def _episode(name: str) -> dict[str, Any]:
    from critmin.simulation.backtests.runner import episode_names, episodes

    spec: dict[str, Any] | None = episodes().get(name)
    if spec is None:
        raise unknown_value("backtest", name, episode_names())
    return spec


def conditions_of(name: str) -> list[dict[str, Any]]:
    """The checked ``conditions`` of episode ``name`` (empty if none)."""
    spec = _episode(name)
    calibration = {c["id"]: c for c in spec.get("calibration", [])}
    targets = {t["id"] for t in spec["targets"]}
    out = []
    for k, cond in enumerate(spec.get("conditions", [])):
        where = f"episodes.yaml: {name}.conditions[{k}]"
        if cond["side"] not in SIDES:
            raise DataError(f"{where}.side {cond['side']!r}: not one of {SIDES}")
        if cond["element"] not in COMMODITY:
            raise DataError(f"{where}.element {cond['element']!r}: not one of {list(COMMODITY)}")
        if cond["zone"] not in ZONES:
            raise DataError(f"{where}.zone {cond['zone']!r}: not one of {ZONES}")
        est = cond["estimate"]
        if "unknown" in est:
            out.append(cond)
            continue
        obs = est["observation"]
        if obs in targets:
            raise DataError(f"{where}.estimate.observation {obs!r}: a scored target")
        if obs not in calibration:
            raise DataError(f"{where}.estimate.observation {obs!r}: no such calibration")
        if calibration[obs]["metric"] not in CALIBRATION_METRICS:
            raise DataError(
                f"{where}: calibration {obs!r} metric {calibration[obs]['metric']!r}: "
                f"not one of {sorted(CALIBRATION_METRICS)}"
            )
        out.append(cond)
    return out


def ramp(labels: list[str], first: str, last: str) -> np.ndarray:
    """Share of a condition in force each month: 0 before ``first``, rising linearly to 1 in
    ``last`` (YYYY-MM), 1 after."""
    k = np.arange(len(labels), dtype=float)
    a = next((i for i, lab in enumerate(labels) if lab >= first), len(labels))
    b = next((i for i, lab in enumerate(labels) if lab >= last), len(labels))
    if b <= a:
        return (k >= a).astype(float)
    return np.clip((k - a) / (b - a), 0.0, 1.0)


def shifts_for(
    conditions: list[dict[str, Any]], factors: list[float], element: str, labels: list[str]
) -> np.ndarray | None:
    """The ``shift`` [month, side, zone] of :func:`simulate_single` for ``element`` from
    ``conditions`` at ``factors`` (None if none touches it); shifts on one curve multiply."""
    out = np.ones((len(labels), 2, 2))
    touched = False
    for cond, f in zip(conditions, factors, strict=True):
        if cond["element"] != element:
            continue
        share = ramp(labels, *cond["ramp"])
        out[:, SIDES.index(cond["side"]), ZONES.index(cond["zone"])] *= 1.0 + (f - 1.0) * share
        touched = True
    return out if touched else None


def calibration_value(
    labels: list[str], price: np.ndarray, output: np.ndarray, obs: dict[str, Any]
) -> float:
    """The model's value of a calibration observation from a run's ``price`` and ``output``
    [month, zone]: the window's mean over the reference's."""
    z = ZONES.index(obs["zone"])
    series = price if obs["metric"] == "single_price_change" else output
    win = [k for k, lab in enumerate(labels) if obs["window"][0] <= lab <= obs["window"][1]]
    ref = [k for k, lab in enumerate(labels)
           if obs["reference"][0] <= lab <= obs["reference"][1]]  # fmt: skip
    return float(series[win, z].mean() / series[ref, z].mean())


@cache
def condition_factor(name: str, index: int) -> float:
    """Estimate of condition ``index`` of episode ``name`` (see the module docstring; NaN
    where its observation is unknown): its element's market from the episode's base year,
    without the policy (its calibration precedes it), under this condition alone."""
    from critmin.simulation.backtests.protocol import FIT_STEPS, bisect

    spec = _episode(name)
    cond = conditions_of(name)[index]
    est = cond["estimate"]
    if "unknown" in est:
        return float("nan")
    obs = next(c for c in spec["calibration"] if c["id"] == est["observation"])
    last = max(obs["window"][1], obs["reference"][1])
    labels = [lab for lab in _labels(spec) if lab <= last]
    months = len(labels)

    def gap(x: float) -> float:
        shift = shifts_for([cond], [x], cond["element"], labels)
        res = simulate_single(
            cond["element"], np.ones(months), year=int(spec["base_year"]), shift=shift
        )
        return calibration_value(labels, res.price, res.output, obs) - float(obs["observed"])

    low, high = float(est["low"]), float(est["high"])
    g_low, g_high = gap(low), gap(high)
    if g_low * g_high > 0:
        # out of reach: the least shift (nearest 1) whose gap is within REACH_TOLERANCE of
        # the smallest; the gap is monotone in the factor over the bracket
        near, far = (high, low) if abs(high - 1.0) <= abs(low - 1.0) else (low, high)
        best = min(abs(g_low), abs(g_high))
        if abs(gap(near)) <= best + REACH_TOLERANCE:
            return near
        for _ in range(FIT_STEPS):
            mid = 0.5 * (near + far)
            if abs(gap(mid)) <= best + REACH_TOLERANCE:
                far = mid
            else:
                near = mid
        return far
    return bisect(gap, low, high, g_high > g_low)


def _labels(spec: dict[str, Any]) -> list[str]:
    start = np.datetime64(spec["start"], "M")
    return [str(start + k) for k in range(int(spec["months"]))]


def episode_shifts(name: str, labels: list[str]) -> dict[str, np.ndarray | None]:
    """Per element of the episode's conditions, the ``shift`` its run applies (estimated
    conditions at their estimates; unknown ones not applied)."""
    conds = conditions_of(name)
    factors = [condition_factor(name, k) for k in range(len(conds))]
    applied = [(c, f) for c, f in zip(conds, factors, strict=True) if not np.isnan(f)]
    elements = {c["element"] for c, _ in applied}
    return {
        el: shifts_for([c for c, _ in applied], [f for _, f in applied], el, labels)
        for el in elements
    }
