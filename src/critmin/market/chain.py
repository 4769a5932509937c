"""A commodity chain as a month's clearing problem: nodes, terms and the index maps to them.

Regions ``r`` (groups), stages ``s`` (goods), one world trade hub per stage. At a stage with
export controls in the scenario, material carries its origin class: the controlled origin's
output and everything bought from the controlled hub is class C; every region then has a
*use* node (class C: local use, processing input, working stock, C imports, the origin's own
output) and a *free* node (its own output when it is not the origin, imports from the free
hub, the leaked share of C imports); free material can always be used locally (arc free ->
use), never the reverse, so a third country cannot pass Chinese material on as its own except
for the leaked share. Export caps bound the C hub's deliveries to the controlled
destinations, so re-exported material stays under the ban. Without controls a stage has one
node per region and one hub.

Terms per stage and region (``docs/methods/simulation.md``, section 2):

* ``production``: mining (stage 0) or processing (input bought at the previous stage's use
  node, ``1 / yield`` t per t of output; margin = output price - input price / yield -
  processing cost): base output curtailed below the base margin, expansion above it up to
  capacity;
* ``recycling`` (where the chain has end-of-life recycling);
* ``final_use``: the sectors' constant-elasticity demand curves in linear pieces up to each
  sector's rationing price, then rationed;
* ``release`` / ``restock``: the working stock;
* trade arcs to and from the hubs (sticky: base flows at equal prices, redirected by price
  gaps with ``trade_elasticity``);
* stockpile releases of the scenario.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from critmin.market.params import Parameters
from critmin.market.problem import GLOBAL, Builder, Structure, Values
from critmin.market.terms import demand_pieces, stock_segments, supply_segments

Array = np.ndarray
NONE = -1
FREE_TO_USE_ELASTICITY = 100.0
"""Slope of the free -> use arc: a 1 % price gap moves the region's whole volume."""
VOLUME_FLOOR = 1e-6
"""Volume scale of a node without base activity, as a share of its stage's world volume."""


@dataclass(frozen=True)
class Base:
    """A calibrated base state (t per month, USD per t). Arrays are [stage, region(, ...)]."""

    stages: list[str]
    regions: list[str]
    sectors: list[str]
    production: Array
    capacity: Array
    final_demand: Array
    sector_split: Array  # [S, R, K]
    yields: Array  # [S]; yields[0] unused
    recycling: Array
    flows: Array  # [S, R, R] base deliveries producer -> user, domestic on the diagonal
    inventory: Array
    base_price: Array  # [S]


@dataclass(frozen=True)
class Layout:
    """Where each economic quantity lives in the :class:`Structure` (``NONE`` if absent)."""

    use_node: Array  # [S, R]
    free_node: Array  # [S, R]
    hub: Array  # [S]
    free_hub: Array  # [S]
    production: Array  # [S, R] term
    recycling: Array  # [S, R] term
    final_use: Array  # [S, R] term
    release: Array  # [S, R] term
    restock: Array  # [S, R] term
    import_c: Array  # [S, R] term: from the (controlled) hub
    import_f: Array  # [S, R] term: from the free hub
    export_c: Array  # [S, R] term
    export_f: Array  # [S, R] term
    free_to_use: Array  # [S, R] term
    even_release: Array  # [S, R] term (fixed tonnes), where a scenario has them
    price_release: Array  # [E] term per on-price stockpile
    seg_sector: Array  # [segments] sector of a final-use segment, NONE elsewhere
    seg_ration: Array  # [segments] bool: the rationing segment of a sector's curve
    seg_ceiling: Array  # [segments] the sector's rationing price index (final use only)
    controlled: Array  # [S] bool: the stage has origin classes
    origin: Array  # [S, R] bool


@dataclass(frozen=True)
class Chain:
    """A commodity chain's clearing problem: structure, base values and layout."""

    base: Base
    params: Parameters
    structure: Structure
    values: Values
    layout: Layout
    import_c_base: Array  # [S, R] t/month: base imports from the controlled hub (cap basis)
    processing_cost: Array  # [S] USD per t of output


def _split_flows(flows: Array, origin: Array, leak: float) -> tuple[Array, ...]:
    """Base imports and exports by class at one stage: (import_c, import_f, export_c,
    export_f) [R]. A third country exports its own output and free imports first; what it
    exports beyond that is re-exported controlled material (class C), so its buyers' imports
    from it are split in the same proportion."""
    n = flows.shape[0]
    trade = flows.copy()
    np.fill_diagonal(trade, 0.0)
    own = np.diag(flows).copy() + trade.sum(1)  # output of each region (row sums)
    share_c = np.where(origin, 1.0, 0.0)  # class-C share of each exporter's exports
    for _ in range(50):
        import_c = (trade * share_c[:, None]).sum(0)
        import_f = trade.sum(0) - import_c
        free_supply = np.where(origin, 0.0, own + import_f + leak * import_c)
        exports = trade.sum(1)
        excess = np.maximum(exports - free_supply, 0.0)
        new = np.where(
            origin, 1.0, np.divide(excess, exports, out=np.zeros(n), where=exports > 0)
        )
        if np.allclose(new, share_c, rtol=0, atol=1e-15):
            break
        share_c = new
    exports = trade.sum(1)
    return import_c, import_f, exports * share_c, exports * (1.0 - share_c)


def build_chain(
    base: Base,
    params: Parameters,
    origin: Array,
    protected: frozenset[str] = frozenset(),
    value_of_use: dict[str, float] | None = None,
    even_release: Array | None = None,
    price_release: list[tuple[int, int]] | None = None,
    extra_active: Array | None = None,
    new_capacity: Array | None = None,
) -> Chain:
    """The chain's structure for a scenario whose export controls come from ``origin``
    [S, R] (bool); sectors in ``protected`` ration at the protected price index, sectors in
    ``value_of_use`` (USD per t) at that value over the stage's base price; stockpile terms
    where ``even_release`` [S, R] (bool) is set and one term per on-price stockpile
    ``(stage, region)``; ``extra_active`` [S, R] (bool) names the cells events bring into
    play beyond those with base activity, ``new_capacity`` [S, R] those where events add
    capacity (their input stage must be active)."""
    n_s, n_r = len(base.stages), len(base.regions)
    p0 = base.base_price
    leak = params.reexport_leakage
    controlled: Array = np.asarray(origin.any(axis=1), dtype=np.bool_)
    b = Builder()
    use = np.full((n_s, n_r), NONE, dtype=np.int64)
    free = np.full((n_s, n_r), NONE, dtype=np.int64)
    hub = np.full(n_s, NONE, dtype=np.int64)
    free_hub = np.full(n_s, NONE, dtype=np.int64)
    terms = {
        name: np.full((n_s, n_r), NONE, dtype=np.int64)
        for name in (
            "production", "recycling", "final_use", "release", "restock", "import_c",
            "import_f", "export_c", "export_f", "free_to_use", "even_release",
        )
    }
    supply = base.production + base.recycling
    processing_in = np.zeros_like(base.production)
    processing_in[:-1] = base.production[1:] / base.yields[1:, None]
    use_total = base.final_demand + processing_in
    trade = base.flows.copy()
    for s in range(n_s):
        np.fill_diagonal(trade[s], 0.0)
    raw = np.maximum.reduce([supply, use_total, trade.sum(2), trade.sum(1), base.capacity])
    # a region takes part at a stage where it has base activity, or an event gives it some
    # (new capacity there or at the next stage, a stockpile); elsewhere it has no node
    active = raw > 0
    producing = np.maximum(base.production, base.capacity) > 0
    if extra_active is not None:
        active |= extra_active
    if new_capacity is not None:
        producing |= new_capacity
    # a plant (with output or only capacity) needs its node and its input stage's node
    active |= producing
    active[:-1] |= producing[1:]
    world = np.maximum(raw.sum(1), 1e-9)
    # a node added by an event has no base volume: it gets a millionth of the stage's world
    volume = np.maximum(raw, VOLUME_FLOOR * world[:, None])
    split = [
        _split_flows(base.flows[s], origin[s] if controlled[s] else np.zeros(n_r, bool), leak)
        for s in range(n_s)
    ]
    for s in range(n_s):
        hub[s] = b.node(f"{base.stages[s]}|hub", GLOBAL, p0[s], world[s])
        if controlled[s]:
            free_hub[s] = b.node(f"{base.stages[s]}|hub|free", GLOBAL, p0[s], world[s])
        for r in range(n_r):
            if not active[s, r]:
                continue
            label = f"{base.stages[s]}|{base.regions[r]}"
            use[s, r] = b.node(label, r, p0[s], volume[s, r])
            if controlled[s]:
                free[s, r] = b.node(f"{label}|free", r, p0[s], volume[s, r])

    cost = np.zeros(n_s)
    cost[0] = p0[0]
    for s in range(1, n_s):
        cost[s] = p0[s] - p0[s - 1] / base.yields[s]
    eps, eps_c = params.supply_elasticity, params.curtailment_elasticity
    seg_sector: dict[int, int] = {}
    seg_ceiling: dict[int, float] = {}
    ration_terms: dict[int, bool] = {}
    segment_count = 0

    def add(name: str, s: int, r: int, label: str, coefs: dict[int, float],
            segments: list[tuple[float, float, float, float]], c: float = 0.0) -> int:
        nonlocal segment_count
        t = b.term(label, coefs, segments, c)
        if name:
            terms[name][s, r] = t
        segment_count += len(segments)
        return t

    for s in range(n_s):
        stage = base.stages[s]
        for r in range(n_r):
            if not active[s, r]:
                continue
            where = f"{stage}|{base.regions[r]}"
            u = int(use[s, r])
            out = u if (not controlled[s] or origin[s, r]) else int(free[s, r])
            z0 = base.production[s, r]
            k0 = max(base.capacity[s, r], z0)
            if producing[s, r]:
                coefs = {out: 1.0}
                if s > 0:
                    if use[s - 1, r] == NONE:
                        raise AssertionError(f"{where}: processing without an input node")
                    coefs[int(use[s - 1, r])] = -1.0 / base.yields[s]
                add("production", s, r, f"production|{where}", coefs,
                    supply_segments(z0, k0, p0[s], eps_c, eps), cost[s])
            rec = base.recycling[s, r]
            if rec > 0:
                e_r = params.recycling_elasticity
                add("recycling", s, r, f"recycling|{where}", {out: 1.0},
                    [(rec, e_r * rec / p0[s], 0.0, np.inf)], p0[s])
            if base.final_demand[s, r] > 0:
                segments: list[tuple[float, float, float, float]] = []
                first = segment_count
                for k, sector in enumerate(base.sectors):
                    q = base.final_demand[s, r] * base.sector_split[s, r, k]
                    if q <= 0:
                        continue
                    ceiling = (
                        params.protected_price_index
                        if sector in protected
                        else params.rationing_price_index
                    )
                    if value_of_use and sector in value_of_use:
                        ceiling = max(value_of_use[sector] / p0[s], 1.0 + 1e-6)
                    pieces = demand_pieces(q, params.final_elasticity, ceiling, p0[s])
                    for j in range(len(pieces)):
                        seg_sector[first + len(segments) + j] = k
                        seg_ceiling[first + len(segments) + j] = ceiling
                    ration_terms[first + len(segments) + len(pieces) - 1] = True
                    segments += pieces
                add("final_use", s, r, f"final_use|{where}", {u: -1.0}, segments)
            i0 = base.inventory[s, r]
            if i0 > 0:
                release, restock = stock_segments(
                    i0, p0[s], params.inventory_release_slope, params.holding_cost
                )
                add("release", s, r, f"release|{where}", {u: 1.0}, [release])
                add("restock", s, r, f"restock|{where}", {u: -1.0}, [restock])
            sigma = params.trade_elasticity * volume[s, r] / p0[s]
            imp_c, imp_f, exp_c, exp_f = (x[r] for x in split[s])
            h_c = int(hub[s])
            if controlled[s]:
                fr = int(free[s, r])
                h_f = int(free_hub[s])
                to = {u: 1.0} if origin[s, r] else {u: 1.0 - leak, fr: leak}
                add("import_c", s, r, f"import|{where}", {h_c: -1.0, **to},
                    [(imp_c, sigma, 0.0, np.inf)])
                add("import_f", s, r, f"import_free|{where}", {h_f: -1.0, fr: 1.0},
                    [(imp_f, sigma, 0.0, np.inf)])
                add("export_c", s, r, f"export|{where}", {u: -1.0, h_c: 1.0},
                    [(exp_c, sigma, 0.0, np.inf)])
                add("export_f", s, r, f"export_free|{where}", {fr: -1.0, h_f: 1.0},
                    [(exp_f, sigma, 0.0, np.inf)])
                produced_free = 0.0 if origin[s, r] else supply[s, r]
                to_use = produced_free + imp_f + (0.0 if origin[s, r] else leak * imp_c) - exp_f
                if to_use < -1e-9 * volume[s, r]:
                    raise AssertionError(f"{where}: free material short by {-to_use} t at base")
                big = FREE_TO_USE_ELASTICITY * volume[s, r] / p0[s]
                add("free_to_use", s, r, f"free_to_use|{where}", {fr: -1.0, u: 1.0},
                    [(max(to_use, 0.0), big, 0.0, np.inf)])
            else:
                add("import_c", s, r, f"import|{where}", {h_c: -1.0, u: 1.0},
                    [(imp_c + imp_f, sigma, 0.0, np.inf)])
                add("export_c", s, r, f"export|{where}", {u: -1.0, h_c: 1.0},
                    [(exp_c + exp_f, sigma, 0.0, np.inf)])
            if even_release is not None and even_release[s, r]:
                add("even_release", s, r, f"stockpile|{where}", {u: 1.0}, [(0.0, 0.0, 0.0, 0.0)])
    price_terms = []
    for e, (s, r) in enumerate(price_release or []):
        where = f"{base.stages[s]}|{base.regions[r]}"
        price_terms.append(add("", s, r, f"stockpile_on_price[{e}]|{where}",
                               {int(use[s, r]): 1.0}, [(0.0, 0.0, 0.0, 0.0)]))
    structure, values = b.build()
    n_seg = structure.n_segments
    sector_of = np.full(n_seg, NONE, dtype=np.int64)
    ceiling_of = np.zeros(n_seg)
    ration = np.zeros(n_seg, dtype=np.bool_)
    for k, v in seg_sector.items():
        sector_of[k] = v
        ceiling_of[k] = seg_ceiling[k]
    for k in ration_terms:
        ration[k] = True
    layout = Layout(
        use_node=use, free_node=free, hub=hub, free_hub=free_hub,
        production=terms["production"], recycling=terms["recycling"],
        final_use=terms["final_use"], release=terms["release"], restock=terms["restock"],
        import_c=terms["import_c"], import_f=terms["import_f"], export_c=terms["export_c"],
        export_f=terms["export_f"], free_to_use=terms["free_to_use"],
        even_release=terms["even_release"],
        price_release=np.array(price_terms, dtype=np.int64),
        seg_sector=sector_of, seg_ration=ration, seg_ceiling=ceiling_of,
        controlled=controlled, origin=origin.astype(np.bool_),
    )
    import_c_base = np.stack([split[s][0] for s in range(n_s)])
    return Chain(base, params, structure, values, layout, import_c_base, cost)
