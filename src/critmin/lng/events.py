"""Scenario events -> monthly arrays [month, region] for the LNG market (central values).

The same events and combination rules as the minerals model (``docs/methods/simulation.md``):
lost fractions combine as ``1 - prod(1 - f)``, demand changes multiplicatively, capacities
additively, capacity ramps linearly over ``ramp_months``. Distributions take their central
value (the LNG command runs central cases only).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from critmin.errors import CritminError, ScenarioError
from critmin.lng.market import LngMarket
from critmin.network.groups import load_groups, resolve_members
from critmin.simulation.distributions import Number, draw
from critmin.simulation.scenario import (
    CapacityAddition,
    DemandShock,
    ExportControl,
    Horizon,
    Month,
    Outage,
    Scenario,
    StockpileRelease,
)

Array = np.ndarray


@dataclass
class Events:
    """``keep`` share of base output [T, R]; ``added`` t/month [T, R]; ``blocked`` share of
    origin -> destination deliveries blocked [T, R]; ``origin`` [R] bool; ``demand``
    multiplier [T, R]; ``release`` strategic-stock release at the holder, t/month [T, R];
    ``by_name`` added t/month [T] of each named capacity event."""

    keep: Array
    added: Array
    blocked: Array
    origin: Array
    demand: Array
    release: Array
    by_name: dict[str, Array] = field(default_factory=dict)


def num(value: Number) -> float:
    return float(draw(value, None, 1)[0])


def month(horizon: Horizon, value: Month) -> float:
    """1-based month number of ``value`` (may lie before the horizon: <= 0)."""
    if isinstance(value, str):
        y0, m0 = (int(x) for x in horizon.start.split("-"))
        y1, m1 = (int(x) for x in value.split("-"))
        return float((y1 - y0) * 12 + (m1 - m0) + 1)
    return num(value)


def members(name: str, where: str) -> tuple[str, ...]:
    try:
        return resolve_members(name, load_groups())
    except CritminError as exc:
        raise ScenarioError(f"{where}: {exc}") from None


def countries(scenario: Scenario) -> list[str]:
    """Countries the events name (groups of up to 3 members expanded)."""
    out: list[str] = []
    for k, e in enumerate(scenario.events):
        names: list[tuple[str, str]] = []
        if isinstance(e, ExportControl):
            names.append(("origin", e.origin))
            if e.destinations != "all":
                names += [(f"destinations[{i}]", d) for i, d in enumerate(e.destinations)]
        elif isinstance(e, Outage | CapacityAddition) or (
            isinstance(e, DemandShock) and e.country != "all"
        ):
            names.append(("country", e.country))
        elif isinstance(e, StockpileRelease):
            names.append(("holder", e.holder))
        for what, value in names:
            found = members(value, f"events[{k}].{what}")
            if len(found) <= 3:
                out += found
    return sorted(set(out))


def build_events(scenario: Scenario, market: LngMarket) -> Events:
    """Monthly arrays of the scenario's events (central values)."""
    horizon = scenario.horizon
    t_axis = np.arange(1, horizon.months + 1, dtype=float)
    n_t, n_r = horizon.months, len(market.regions)
    keep = np.ones((n_t, n_r))
    added = np.zeros((n_t, n_r))
    passed = np.ones((n_t, n_r))
    origin = np.zeros(n_r, dtype=bool)
    demand = np.ones((n_t, n_r))
    release = np.zeros((n_t, n_r))
    by_name: dict[str, Array] = {}

    def regions(name: str, where: str) -> list[int]:
        if name == "all":
            return list(range(n_r))
        return sorted({market.index(c) for c in members(name, where)})

    def window(start: float, duration: float) -> Array:
        s, d = np.rint(start), np.rint(duration)
        result: Array = (t_axis >= s) & (t_axis < s + d)
        return result

    for k, e in enumerate(scenario.events):
        where = f"events[{k}]"
        if num(e.occurs) < 0.5:
            continue
        if isinstance(e, Outage):
            f = num(e.fraction) * window(month(horizon, e.start), num(e.duration))
            for r in regions(e.country, f"{where}.country"):
                keep[:, r] *= 1.0 - f
        elif isinstance(e, ExportControl):
            o = regions(e.origin, f"{where}.origin")
            if origin.any() and not origin[o].all():
                raise ScenarioError(
                    f"{where}.origin = {e.origin!r}: the LNG model takes one controlling origin; "
                    f"already {[market.regions[i] for i in np.flatnonzero(origin)]}"
                )
            origin[o] = True
            start = month(horizon, e.start)
            share = num(e.fraction) * window(start, num(e.duration))
            if e.licensing is not None:
                late = t_axis >= np.rint(start) + np.rint(num(e.licensing.after_months))
                share = np.where(late, share * (1.0 - num(e.licensing.pass_fraction)), share)
            if e.destinations == "all":
                dest = [r for r in range(n_r) if r not in o]
            else:
                dest = sorted(
                    {
                        r
                        for i, d in enumerate(e.destinations)
                        for r in regions(d, f"{where}.destinations[{i}]")
                    }
                )
            for r in dest:
                passed[:, r] *= 1.0 - share
        elif isinstance(e, DemandShock):
            start = month(horizon, e.start)
            duration = float(n_t) if e.duration is None else num(e.duration)
            change = num(e.change) * window(start, duration)
            for r in regions(e.country, f"{where}.country"):
                demand[:, r] *= 1.0 + change
        elif isinstance(e, CapacityAddition):
            tonnes, online = num(e.tonnes_per_year), month(horizon, e.online)
            ramp = max(num(e.ramp_months), 1.0)
            progress = np.clip((t_axis - np.rint(online) + 1) / ramp, 0.0, 1.0)
            monthly = tonnes / 12.0 * progress
            r_all = regions(e.country, f"{where}.country")
            for r in r_all:
                added[:, r] += monthly / len(r_all)
            if e.name:
                by_name[e.name] = by_name.get(e.name, np.zeros(n_t)) + monthly
        elif isinstance(e, StockpileRelease):
            if e.commodity != "natural_gas":
                raise ScenarioError(f"{where}.commodity = {e.commodity!r}: must be natural_gas")
            duration = max(num(e.duration), 1.0)
            w = window(month(horizon, e.start), duration)
            members(e.holder, f"{where}.holder")
            r = market.index(e.holder)
            release[:, r] += num(e.tonnes) / np.rint(duration) * w
    return Events(keep, added, 1.0 - passed, origin, demand, release, by_name)
