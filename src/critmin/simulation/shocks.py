"""Turn a scenario (with sampled values) into monthly arrays on the market's regions.

Arrays are [scenario, month, stage, region] unless stated. Events of the same kind combine:
lost fractions as ``1 - prod(1 - f)``, demand changes multiplicatively, capacity additively.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from critmin.errors import CritminError, ScenarioError
from critmin.network.groups import load_groups, resolve_members
from critmin.simulation.calibration import ROW, Market
from critmin.simulation.distributions import Number, draw
from critmin.simulation.scenario import (
    CapacityAddition,
    DemandShock,
    ExportControl,
    Outage,
    Scenario,
    StockpileRelease,
)

Array = np.ndarray


@dataclass
class Shocks:
    """Sampled, month-resolved scenario inputs for ``n`` scenarios.

    Monthly arrays are indexed [month, stage, region, scenario] and stored in memory as
    [month, stage, scenario, region] (views; ``kernel.py`` reads them per scenario).
    """

    outage: Array  # lost share of capacity
    added: Array  # new capacity, t per month
    demand: Array  # [T, K, R, n] demand multiplier by sector
    blocked: Array  # share of origin -> destination deliveries blocked
    origin: Array  # [S, R] bool: the controlling origin at each stage
    release_even: Array  # stockpile release, t per month (rule even)
    price_stock: Array  # [n, E, T]: tonnes held for rule on_price from its start month
    price_stage: Array  # [E] stage index
    price_region: Array  # [E] region index
    price_trigger: Array  # [E] price index
    active: Array  # [n, T] any event acting in the month
    even_stages: Array  # [S] bool: an even stockpile release exists at the stage

    @property
    def n(self) -> int:
        return int(self.outage.shape[3])


def event_countries(scenario: Scenario) -> list[str]:
    """Countries named by the events (groups expanded), to keep as own regions."""
    groups = load_groups()
    named: list[str] = []
    for k, event in enumerate(scenario.events):
        fields: list[tuple[str, str]] = []
        if isinstance(event, ExportControl):
            fields.append(("origin", event.origin))
            if event.destinations != "all":
                fields += [(f"destinations[{i}]", d) for i, d in enumerate(event.destinations)]
        elif isinstance(event, Outage | CapacityAddition):
            fields.append(("country", event.country))
        elif isinstance(event, DemandShock):
            if event.country != "all":
                fields.append(("country", event.country))
        elif isinstance(event, StockpileRelease):
            fields.append(("holder", event.holder))
        for name, value in fields:
            try:
                members = resolve_members(value, groups)
            except CritminError as exc:
                raise ScenarioError(f"events[{k}].{name}: {exc}") from None
            if len(members) <= 3:
                named += list(members)
    return sorted(set(named))


def _regions(market: Market, name: str, where: str) -> list[int]:
    if name == "all":
        return list(range(market.n_regions))
    try:
        members = resolve_members(name, load_groups())
    except CritminError as exc:
        raise ScenarioError(f"{where}: {exc}") from None
    return sorted({market.region_index(c) for c in members})


def _stage(market: Market, stage: str, where: str) -> int:
    if stage not in market.stages:
        raise ScenarioError(
            f"{where} = {stage!r}: not a stage of {market.commodity}; valid: "
            f"{', '.join(market.stages)}"
        )
    return market.stage_index(stage)


def _window(start: Array, duration: Array, months: int) -> Array:
    """[n, T] mask of months start .. start + duration - 1 (1-based, rounded)."""
    t = np.arange(1, months + 1)[None, :]
    s = np.rint(start)[:, None]
    d = np.rint(duration)[:, None]
    result: Array = (t >= s) & (t < s + d)
    return result


def build_shocks(
    scenario: Scenario, market: Market, n: int, rng: np.random.Generator | None
) -> Shocks:
    """Draw every numeric field (event by event, field by field, in file order)."""
    months = scenario.horizon.months
    n_s, n_r, n_k = market.n_stages, market.n_regions, len(market.sectors)

    # indexed [month, stage, region, scenario]; stored [month, stage, scenario, region] so
    # that the compiled kernel reads one scenario's regions contiguously (kernel.py)
    def monthly(fill: float, size: int = n_s) -> Array:
        shape = (months, size, n, n_r)
        # zeros: pages are only touched where an event writes
        stored = np.zeros(shape) if fill == 0.0 else np.full(shape, fill)
        result: Array = stored.swapaxes(2, 3)
        return result

    keep = monthly(1.0)
    added = monthly(0.0)
    demand = monthly(1.0, n_k)
    passed = monthly(1.0)
    origin = np.zeros((n_s, n_r), dtype=bool)
    release = monthly(0.0)
    stock_rows: list[Array] = []
    stock_meta: list[tuple[int, int, float]] = []
    active = np.zeros((n, months), dtype=bool)
    t_axis = np.arange(1, months + 1)[None, :]

    def num(value: Number) -> Array:
        return draw(value, rng, n)

    def month(value: Number | str) -> Array:
        return num(scenario.horizon.index(value))

    for k, event in enumerate(scenario.events):
        where = f"events[{k}]"
        occurs = num(event.occurs) >= 0.5
        if isinstance(event, ExportControl):
            stages = [_stage(market, s, f"{where}.stages") for s in event.stages]
            o_idx = _regions(market, event.origin, f"{where}.origin")
            if market.regions[o_idx[0]] == ROW and len(o_idx) == 1:
                raise ScenarioError(f"{where}.origin = {event.origin!r}: not a modelled region")
            if event.destinations == "all":
                d_idx = [r for r in range(n_r) if r not in o_idx]
            else:
                d_idx = sorted(
                    {
                        r
                        for i, d in enumerate(event.destinations)
                        for r in _regions(market, d, f"{where}.destinations[{i}]")
                    }
                    - set(o_idx)
                )
            fraction, start, duration = num(event.fraction), month(event.start), num(event.duration)
            window = _window(start, duration, months) & occurs[:, None]
            share = np.where(window, fraction[:, None], 0.0)
            if event.licensing is not None:
                after = num(event.licensing.after_months)
                licensed = num(event.licensing.pass_fraction)
                late = t_axis >= np.rint(start)[:, None] + np.rint(after)[:, None]
                share = np.where(late, share * (1.0 - licensed[:, None]), share)
            for s in stages:
                current = np.flatnonzero(origin[s])
                if current.size and set(current) != set(o_idx):
                    raise ScenarioError(
                        f"{where}.origin = {event.origin!r}: stage {market.stages[s]} already "
                        f"has export controls from {[market.regions[i] for i in current]}; "
                        "one origin (country or group) per stage is supported"
                    )
                origin[s, o_idx] = True
                for d in d_idx:
                    passed[:, s, d, :] *= (1.0 - share).T
            active |= window
        elif isinstance(event, Outage):
            s = _stage(market, event.stage, f"{where}.stage")
            regions = _regions(market, event.country, f"{where}.country")
            fraction, start, duration = num(event.fraction), month(event.start), num(event.duration)
            window = _window(start, duration, months) & occurs[:, None]
            for r in regions:
                keep[:, s, r, :] *= (1.0 - np.where(window, fraction[:, None], 0.0)).T
            active |= window
        elif isinstance(event, DemandShock):
            regions = _regions(market, event.country, f"{where}.country")
            if event.sector == "all":
                sectors = list(range(n_k))
            elif event.sector in market.sectors:
                sectors = [market.sectors.index(event.sector)]
            else:
                raise ScenarioError(
                    f"{where}.sector = {event.sector!r}: unknown sector of {market.commodity}; "
                    f"valid: all, {', '.join(market.sectors)}"
                )
            change, start = num(event.change), month(event.start)
            duration = num(event.duration) if event.duration is not None else np.full(n, 1e9)
            window = _window(start, duration, months) & occurs[:, None]
            factor = np.where(window, 1.0 + change[:, None], 1.0)
            for r in regions:
                for j in sectors:
                    demand[:, j, r, :] *= factor.T
            active |= window
        elif isinstance(event, CapacityAddition):
            s = _stage(market, event.stage, f"{where}.stage")
            regions = _regions(market, event.country, f"{where}.country")
            if len(regions) != 1:
                raise ScenarioError(f"{where}.country = {event.country!r}: name one country")
            tonnes, online = num(event.tonnes_per_year), month(event.online)
            ramp = np.maximum(num(event.ramp_months), 1.0)
            progress = np.clip((t_axis - np.rint(online)[:, None] + 1) / ramp[:, None], 0, 1)
            added[:, s, regions[0], :] += np.where(
                occurs[:, None], progress * tonnes[:, None] / 12.0, 0.0
            ).T
            active |= progress > 0
        elif isinstance(event, StockpileRelease):
            if event.commodity != market.commodity:
                raise ScenarioError(
                    f"{where}.commodity = {event.commodity!r}: this scenario simulates "
                    f"{market.commodity}"
                )
            s = _stage(market, event.stage, f"{where}.stage")
            regions = _regions(market, event.holder, f"{where}.holder")
            if len(regions) != 1:
                raise ScenarioError(f"{where}.holder = {event.holder!r}: name one country")
            tonnes, start, duration = num(event.tonnes), month(event.start), num(event.duration)
            tonnes = np.where(occurs, tonnes, 0.0)
            if event.rule == "even":
                window = _window(start, np.maximum(duration, 1.0), months)
                per_month = tonnes / np.maximum(np.rint(duration), 1.0)
                release[:, s, regions[0], :] += np.where(window, per_month[:, None], 0.0).T
                active |= window & occurs[:, None]
            else:
                held = t_axis >= np.rint(start)[:, None]
                stock_rows.append(np.where(held, tonnes[:, None], 0.0))
                stock_meta.append((s, regions[0], event.trigger))
                active |= held & occurs[:, None]
    price_stock = np.stack(stock_rows, axis=1) if stock_rows else np.zeros((n, 0, months))
    # in place (same values as 1 - keep and 1 - passed): no further [T, S, R, n] copies
    outage = np.subtract(1.0, keep, out=keep)
    blocked = np.subtract(1.0, passed, out=passed)
    blocked[:, origin, :] = 0.0

    return Shocks(
        outage=outage,
        added=added,
        demand=demand,
        blocked=blocked,
        origin=origin,
        release_even=release,
        price_stock=price_stock,
        price_stage=np.array([m[0] for m in stock_meta], dtype=int),
        price_region=np.array([m[1] for m in stock_meta], dtype=int),
        price_trigger=np.array([m[2] for m in stock_meta], dtype=float),
        active=active,
        even_stages=(release != 0).any(axis=(0, 2, 3)),
    )
