"""Turn a scenario (with sampled values) into monthly shock terms on the market's regions.

Each event contributes *terms*: a value row [scenario, month] (a lost-capacity multiplier, a
passed-share multiplier, a demand factor, or tonnes per month) attached to (stage or sector,
region) cells. Terms of the same kind combine in event order: kept capacity and passed
exports multiply (``1 - prod(1 - f)`` lost), demand factors multiply, capacity additions and
even releases add. The compiled kernel reads the terms directly (a few rows of
[scenario, month] values instead of dense [month, stage, region, scenario] arrays: about 1% of
the memory for an ensemble chunk); the numpy engine reads the dense arrays, built from the
same terms with the same floating-point operations in the same order.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property
from typing import Protocol

import numpy as np

from critmin.errors import CritminError, ScenarioError
from critmin.network.groups import load_groups, resolve_members
from critmin.simulation.calibration import ROW
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


class Regions(Protocol):
    """What the compiler needs of a market: the commodity, its stages, its regions (``ROW``
    for the rest of the world), sectors of final use, and the base use [stage, region]
    (t/month: ``final_demand`` + ``derived``, the next stage's input) that shares a group's
    stockpile among its members. The commodity chain's and LNG's markets both provide it."""

    @property
    def commodity(self) -> str: ...
    @property
    def stages(self) -> list[str]: ...
    @property
    def regions(self) -> list[str]: ...
    @property
    def sectors(self) -> list[str]: ...
    @property
    def final_demand(self) -> Array: ...
    @property
    def derived(self) -> Array: ...
    @property
    def n_stages(self) -> int: ...
    @property
    def n_regions(self) -> int: ...
    def region_index(self, country: str) -> int: ...
    def stage_index(self, stage: str) -> int: ...


# term kinds: lost-capacity multiplier (kept share), passed-export multiplier, demand factor
# by sector, capacity added (t/month), even stockpile release (t/month)
KEEP, PASSED, DEMAND, ADDED, RELEASE = range(5)
KINDS = ("keep", "passed", "demand", "added", "release")
_PRODUCT_KINDS = (KEEP, PASSED, DEMAND)


@dataclass
class Terms:
    """Shock terms of one kind as a CSR table over cells ``index * n_regions + region``
    (index: stage, or sector for demand): the rows of cell ``c`` are
    ``rows[ptr[c]:ptr[c + 1]]`` in event order."""

    ptr: Array  # int64 [cells + 1]
    rows: Array  # int64 [entries] rows of ``Shocks.values``


@dataclass
class Shocks:
    """Sampled, month-resolved scenario inputs for ``n`` scenarios.

    ``values`` [row, scenario, month] holds the distinct value rows; ``terms`` maps each kind
    (``KEEP`` ...) to its cells. The dense monthly arrays, indexed [month, stage, region,
    scenario] (stored [month, stage, scenario, region]), are built on first use.
    """

    values: Array  # [rows, n, T] float64
    terms: dict[int, Terms]
    n_stages: int
    n_regions: int
    n_sectors: int
    origin: Array  # [S, R] bool: the controlling origin at each stage
    price_stock: Array  # [n, E, T]: tonnes held for rule on_price from its start month
    price_stage: Array  # [E] stage index
    price_region: Array  # [E] region index
    price_trigger: Array  # [E] price index
    even_stages: Array  # [S] bool: an even stockpile release exists at the stage
    row_event: Array  # [rows] index of the event (in file order) that wrote each value row

    @property
    def n(self) -> int:
        return int(self.values.shape[1])

    @property
    def months(self) -> int:
        return int(self.values.shape[2])

    def _dense(self, kind: int) -> Array:
        """[T, index, R, n] (stored [T, index, n, R]): the terms of ``kind`` combined."""
        size = self.n_sectors if kind == DEMAND else self.n_stages
        fill = 1.0 if kind in _PRODUCT_KINDS else 0.0
        shape = (self.months, size, self.n, self.n_regions)
        # zeros: pages are only touched where a term writes
        stored = np.zeros(shape) if fill == 0.0 else np.full(shape, fill)
        table = self.terms[kind]
        for cell in range(size * self.n_regions):
            index, region = divmod(cell, self.n_regions)
            for row in table.rows[table.ptr[cell] : table.ptr[cell + 1]]:
                if kind in _PRODUCT_KINDS:
                    stored[:, index, :, region] *= self.values[row].T
                else:
                    stored[:, index, :, region] += self.values[row].T
        result: Array = stored.swapaxes(2, 3)
        return result

    @cached_property
    def outage(self) -> Array:
        """Lost share of capacity, [T, S, R, n]."""
        keep = self._dense(KEEP)
        outage: Array = np.subtract(1.0, keep, out=keep)
        return outage

    @cached_property
    def added(self) -> Array:
        """New capacity, t per month, [T, S, R, n]."""
        return self._dense(ADDED)

    @cached_property
    def demand(self) -> Array:
        """Demand multiplier by sector, [T, K, R, n]."""
        return self._dense(DEMAND)

    @cached_property
    def blocked(self) -> Array:
        """Share of origin -> destination deliveries blocked, [T, S, R, n] (0 at origins)."""
        passed = self._dense(PASSED)
        blocked: Array = np.subtract(1.0, passed, out=passed)
        blocked[:, self.origin, :] = 0.0
        return blocked

    @cached_property
    def release_even(self) -> Array:
        """Stockpile release (rule even), t per month, [T, S, R, n]."""
        return self._dense(RELEASE)

    def subset(self, start: int, stop: int) -> Shocks:
        """Scenarios ``start .. stop - 1`` (copies)."""
        return replace(
            self,
            values=np.ascontiguousarray(self.values[:, start:stop]),
            price_stock=np.ascontiguousarray(self.price_stock[start:stop]),
        )


class _TermBuilder:
    """Collects (kind, index, region, row) entries in event order."""

    def __init__(self, n_regions: int) -> None:
        self.n_regions = n_regions
        self.rows: list[Array] = []
        self.events: list[int] = []
        self.entries: list[tuple[int, int, int, int]] = []

    def add(
        self, kind: int, indices: list[int], regions: list[int], row: Array, event: int
    ) -> None:
        """Attach ``row`` [n, T] of event ``event`` to every (index, region) of ``kind``."""
        if not indices or not regions:
            return
        self.rows.append(np.ascontiguousarray(row, dtype=np.float64))
        self.events.append(event)
        at = len(self.rows) - 1
        self.entries += [(kind, i, r, at) for i in indices for r in regions]

    def tables(self, sizes: dict[int, int]) -> dict[int, Terms]:
        tables = {}
        for kind, size in sizes.items():
            cells = [i * self.n_regions + r for k, i, r, _ in self.entries if k == kind]
            rows = [row for k, _, _, row in self.entries if k == kind]
            order = np.argsort(np.array(cells, dtype=np.int64), kind="stable")
            counts = np.bincount(np.array(cells, dtype=np.int64), minlength=size * self.n_regions)
            ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
            tables[kind] = Terms(ptr=ptr, rows=np.array(rows, dtype=np.int64)[order])
        return tables


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


def _regions(market: Regions, name: str, where: str) -> list[int]:
    if name == "all":
        return list(range(market.n_regions))
    try:
        members = resolve_members(name, load_groups())
    except CritminError as exc:
        raise ScenarioError(f"{where}: {exc}") from None
    return sorted({market.region_index(c) for c in members})


def holder_shares(
    market: Regions, stage: int, regions: list[int], where: str
) -> list[tuple[int, float]]:
    """How a holder's stockpile is shared among its regions: one region holds all of it; a
    group's members hold it in proportion to their base use at the stage (final use and the
    next stage's input). ``ROW`` is refused (it is not a holder)."""
    if len(regions) == 1:
        if market.regions[regions[0]] == ROW:
            raise ScenarioError(f"{where}: not a modelled region; name a country or a group")
        return [(regions[0], 1.0)]
    members = [r for r in regions if market.regions[r] != ROW]
    use = market.final_demand[stage, members] + market.derived[stage, members]
    if use.sum() <= 0:
        raise ScenarioError(f"{where}: its members use nothing at this stage to share it by")
    return [(r, float(u / use.sum())) for r, u in zip(members, use, strict=True)]


def _stage(market: Regions, stage: str, where: str) -> int:
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
    scenario: Scenario, market: Regions, n: int, rng: np.random.Generator | None
) -> Shocks:
    """Draw every numeric field (event by event, field by field, in file order)."""
    months = scenario.horizon.months
    n_s, n_r, n_k = market.n_stages, market.n_regions, len(market.sectors)
    terms = _TermBuilder(n_r)
    origin = np.zeros((n_s, n_r), dtype=bool)
    stock_rows: list[Array] = []
    stock_meta: list[tuple[int, int, float]] = []
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
            terms.add(PASSED, stages, d_idx, 1.0 - share, k)
        elif isinstance(event, Outage):
            s = _stage(market, event.stage, f"{where}.stage")
            regions = _regions(market, event.country, f"{where}.country")
            fraction, start, duration = num(event.fraction), month(event.start), num(event.duration)
            window = _window(start, duration, months) & occurs[:, None]
            terms.add(KEEP, [s], regions, 1.0 - np.where(window, fraction[:, None], 0.0), k)
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
            terms.add(DEMAND, sectors, regions, np.where(window, 1.0 + change[:, None], 1.0), k)
        elif isinstance(event, CapacityAddition):
            s = _stage(market, event.stage, f"{where}.stage")
            regions = _regions(market, event.country, f"{where}.country")
            if len(regions) != 1:
                raise ScenarioError(f"{where}.country = {event.country!r}: name one country")
            tonnes, online = num(event.tonnes_per_year), month(event.online)
            ramp = np.maximum(num(event.ramp_months), 1.0)
            progress = np.clip((t_axis - np.rint(online)[:, None] + 1) / ramp[:, None], 0, 1)
            row = np.where(occurs[:, None], progress * tonnes[:, None] / 12.0, 0.0)
            terms.add(ADDED, [s], regions, row, k)
        elif isinstance(event, StockpileRelease):
            if event.commodity != market.commodity:
                raise ScenarioError(
                    f"{where}.commodity = {event.commodity!r}: this scenario simulates "
                    f"{market.commodity}"
                )
            s = _stage(market, event.stage, f"{where}.stage")
            regions = _regions(market, event.holder, f"{where}.holder")
            tonnes, start, duration = num(event.tonnes), month(event.start), num(event.duration)
            tonnes = np.where(occurs, tonnes, 0.0)
            for r, part in holder_shares(market, s, regions, f"{where}.holder"):
                if event.rule == "even":
                    window = _window(start, np.maximum(duration, 1.0), months)
                    per_month = part * tonnes / np.maximum(np.rint(duration), 1.0)
                    terms.add(RELEASE, [s], [r], np.where(window, per_month[:, None], 0.0), k)
                else:
                    held = t_axis >= np.rint(start)[:, None]
                    stock_rows.append(np.where(held, part * tonnes[:, None], 0.0))
                    stock_meta.append((s, r, event.trigger))
    price_stock = np.stack(stock_rows, axis=1) if stock_rows else np.zeros((n, 0, months))
    values = np.stack(terms.rows) if terms.rows else np.zeros((0, n, months))
    even_stages = np.zeros(n_s, dtype=bool)
    for kind, stage, _, at in terms.entries:
        if kind == RELEASE and values[at].any():
            even_stages[stage] = True

    return Shocks(
        values=values,
        terms=terms.tables({KEEP: n_s, PASSED: n_s, DEMAND: n_k, ADDED: n_s, RELEASE: n_s}),
        n_stages=n_s,
        n_regions=n_r,
        n_sectors=n_k,
        origin=origin,
        price_stock=price_stock,
        price_stage=np.array([m[0] for m in stock_meta], dtype=int),
        price_region=np.array([m[1] for m in stock_meta], dtype=int),
        price_trigger=np.array([m[2] for m in stock_meta], dtype=float),
        even_stages=even_stages,
        row_event=np.array(terms.events, dtype=np.int64),
    )
