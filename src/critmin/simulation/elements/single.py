"""Two-zone monthly market of one commodity (gallium, germanium): China and the rest.

One good in two zones on the market core (:mod:`zones`: working stocks, unsold output kept,
China's exports capped at ``allowed[t] x`` base exports), with each zone's refiners
supplying on margin (curtailed below the base price, expanded above it up to output /
utilisation) and its users on a constant-elasticity curve in linear pieces up to the
rationing price (the market core's parameters, ``critmin.market.parameters.yaml``). The base
state of a year: each zone's output from World Mining Data (embedded) and China's exports
from ``single.yaml`` (cited customs figures), t/yr.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from critmin.data import tables
from critmin.errors import DataError, InfeasibleError
from critmin.market import newton
from critmin.market.problem import Builder, Structure, Values
from critmin.market.terms import demand_pieces, supply_segments
from critmin.simulation.elements.model import parameters_of
from critmin.simulation.elements.zones import (
    ZONES,
    Goods,
    GoodsLayout,
    ZoneState,
    advance,
    check_engine,
    clear,
    node_flows,
    write_goods,
)
from critmin.simulation.params import base_price

SINGLE_FILE = Path(__file__).with_name("single.yaml")
FORESIGHT_DAMPING = (0.5, 0.75, 0.9)
"""Weights of the expected path kept from the earlier passes, tried in turn: undamped passes
oscillate, and a few parameter sets (steep stock response, long rebuild) cycle at 0.5 but
settle at 0.75."""
FORESIGHT_TOLERANCE = 1e-9
"""Largest change of a month's price index between passes at which foresight has settled."""
FORESIGHT_PASSES = 200
"""Passes after which unsettled foresight is an error (about 60 settle the episodes)."""
COMMODITY = {"Ga": "gallium", "Ge": "germanium"}
STAGE = "refining"


@cache
def single_data() -> dict[str, Any]:
    """Parsed ``single.yaml``."""
    data: dict[str, Any] = yaml.safe_load(SINGLE_FILE.read_text(encoding="utf-8"))
    return data


@dataclass(frozen=True)
class SingleResult:
    """Monthly results by zone (CHN, XCN): price index, use, output (t/month), China's net
    exports (t/month), the licence pipeline's stock in China at the month's end (t) and the
    node imbalance of the month (t)."""

    price: np.ndarray  # [month, zone]
    use: np.ndarray  # [month, zone]
    output: np.ndarray  # [month, zone]
    exports: np.ndarray  # [month] China's net exports
    base_exports: float  # t/month
    balance: np.ndarray  # [month, zone] output + release - use - restock - unsold - exports
    held: np.ndarray  # [month] licence pipeline stock in China (t)


def single_base(element: str, year: int) -> tuple[np.ndarray, float]:
    """Output by zone (CHN, XCN) and China's exports of ``element`` in ``year`` (t/yr)."""
    years = single_data()["years"]
    if year not in years or element not in years[year]:
        raise DataError(
            f"single.yaml: no base state of {element} in {year}; years: "
            f"{', '.join(str(y) for y in years)}"
        )
    prod = tables.production()
    rows = prod[(prod["commodity"] == COMMODITY[element]) & (prod["year"] == year)]
    china = float(rows.loc[rows["country"] == "CHN", "value"].sum())
    output = np.array([china, float(rows["value"].sum()) - china])
    return output, float(years[year][element]["china_exports_t"])


def foreseen(path: np.ndarray, t: int) -> np.ndarray:
    """Expected appreciation [zone] in month ``t`` of a foreseen price path [month, zone]:
    next month's relative price change (0 in the last month: flat beyond the horizon)."""
    if t + 1 >= len(path):
        return np.zeros(path.shape[1])
    out: np.ndarray = path[t + 1] / path[t] - 1.0
    return out


def scale_term(st: Structure, v: Values, term: int, factor: float) -> None:
    """Scale ``term``'s curve horizontally by ``factor`` (its quantities at every margin;
    the demand pieces and the supply segments are linear in their base quantity)."""
    seg = slice(int(st.seg_ptr[term]), int(st.seg_ptr[term + 1]))
    v.alpha[seg] *= factor
    v.beta[seg] *= factor
    v.hi[seg] *= factor


def simulate_single(
    element: str,
    allowed: np.ndarray,
    year: int = 2022,
    parameters: Mapping[str, float] | None = None,
    engine: str = "compiled",
    known_from: int | None = None,
    held: np.ndarray | None = None,
    shift: np.ndarray | None = None,
) -> SingleResult:
    """Run the two-zone market of ``element`` (``Ga`` or ``Ge``) from its ``year`` base state
    under ``allowed`` shares of China's base exports, every month cleared by the ``compiled``
    or ``exact`` back-end; ``parameters`` override the market core's defaults; ``held`` is
    the licence pipeline's net intake each month as a share of the base exports
    (:attr:`critmin.simulation.rules.pipeline.Pipeline.net`; none if None); ``shift``
    [month, side, zone] scales each zone's demand (side 0) and supply (side 1) curve
    horizontally in each month (1 = the base curve; an episode's market conditions,
    :func:`critmin.simulation.backtests.conditions.episode_shifts`; none if None).

    With ``known_from`` (a month index: the policy's announcement), holders know the
    announced ``allowed`` path from that month on and expect the price path it produces
    (perfect foresight of next month's price in each zone, :func:`foreseen`, in place of
    adaptive expectations): the run is repeated, each pass expecting the damped mean of the
    earlier passes' paths, until the path moves by at most :data:`FORESIGHT_TOLERANCE`
    (with heavier damping, :data:`FORESIGHT_DAMPING`, if it does not settle)."""
    check_engine(engine)
    par = parameters_of(parameters)
    yearly, exports_t = single_base(element, year)
    output = yearly / 12.0
    exports = exports_t / 12.0
    use = output + np.array([-exports, exports])
    p0, _ = base_price(COMMODITY[element], STAGE)
    b = Builder()
    goods = Goods(b)
    nodes = goods.add(element, p0, np.maximum(output, use), use * par.inventory_months,
                      exports, par)
    supply, demand = [], []
    for k, z in enumerate(ZONES):
        supply.append(b.term(f"refining|{z}", {nodes[k]: 1.0}, supply_segments(
            output[k], output[k] / par.utilisation, p0, par.curtailment_elasticity,
            par.supply_elasticity), p0))
        demand.append(b.term(f"use|{z}", {nodes[k]: -1.0}, demand_pieces(
            use[k], par.final_elasticity, par.rationing_price_index, p0)))
    st, v0 = b.build()
    lay = GoodsLayout.of(goods)
    n = len(allowed)

    def run(path: np.ndarray | None) -> SingleResult:
        state = ZoneState.initial(lay)
        p, q = np.ones(st.n_nodes), np.zeros(st.n_terms)
        work = newton.workspace(st.n_nodes, st.n_terms, st.group_ptr, st.global_nodes.size)
        price, used, made = np.ones((n, 2)), np.zeros((n, 2)), np.zeros((n, 2))
        flow, balance, stock = np.zeros(n), np.zeros((n, 2)), np.zeros(n)
        for t in range(n):
            if path is not None and known_from is not None and t >= known_from:
                state.expected[0] = foreseen(path, t)
            v = v0.copy()
            write_goods(lay, st, v, state, np.array([allowed[t]]), par,
                        None if held is None else np.array([held[t]]))
            if shift is not None:
                for k in range(2):
                    scale_term(st, v, demand[k], float(shift[t, 0, k]))
                    scale_term(st, v, supply[k], float(shift[t, 1, k]))
            p, q = clear(engine, st, v, p, q, work, t)
            price[t] = p[lay.node[0]]
            used[t] = q[demand]
            made[t] = q[supply]
            flow[t] = q[lay.arc[0]]
            give, take = node_flows(st, q, np.arange(st.n_terms))
            balance[t] = (give - take)[lay.node[0]]
            advance(lay, p, q, state, par)
            stock[t] = state.held[0]
        return SingleResult(price, used, made, flow, exports, balance, stock)

    first = run(None)
    if known_from is None:
        return first
    gap = np.inf
    for keep in FORESIGHT_DAMPING:
        path = first.price
        for _ in range(FORESIGHT_PASSES):
            result = run(path)
            gap = float(np.max(np.abs(result.price - path)))
            if gap <= FORESIGHT_TOLERANCE:
                return result
            path = keep * path + (1.0 - keep) * result.price
    raise InfeasibleError(
        f"{element}: foreseen prices did not settle in {FORESIGHT_PASSES} passes at any "
        f"damping {FORESIGHT_DAMPING} (largest change {gap:.2e})"
    )
