"""Monthly simulation of the element-grain rare-earth chain with two-price markets.

Each month: mines produce their baskets (output responds to last month's basket value, so a
dear element raises all its co-products in fixed proportions); concentrate is separated in
China or outside it; every element's oxide market clears (two zones, capped China -> rest
flow under an export control); metal makers convert the oxide they bought (stoichiometric
yield); every magnet element's metal market clears; magnet makers make heavy-grade magnets
(NdPr + Dy + Tb, Leontief, with Dy/Tb thrifting when they are dear) and Dy-free magnets
(NdPr only) from the metal they bought, unused metal going to stock; the magnet market
clears against sector demand. Quantities t/month; prices are indices (1 = base).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from critmin.market.params import default_parameters
from critmin.simulation.elements.chain import ZONES, Base, calibrate, chain_data
from critmin.simulation.elements.market import Zone, ZoneResult, clear

MAGNET = "magnet"
"""Key of the magnet stage in control arrays: (``MAGNET``, ``MAGNET``)."""

FLOWS = ("output", "release", "direct", "processing", "restock", "unsold", "net_export")


@dataclass(frozen=True)
class Shocks:
    """Monthly inputs besides the base state (arrays of length ``months``).

    ``allowed[(element, stage)]``: share of the base China -> rest flow still allowed (1 =
    free; stage ``oxide`` or ``metal``; ``(MAGNET, MAGNET)`` for magnets). ``outage[deposit]``:
    share of a deposit's output lost. ``demand[sector]``: multiplier of magnet demand.
    """

    months: int
    allowed: Mapping[tuple[str, str], np.ndarray] = field(default_factory=dict)
    outage: Mapping[str, np.ndarray] = field(default_factory=dict)
    demand: Mapping[str, np.ndarray] = field(default_factory=dict)


@dataclass
class ElementResult:
    """Month-by-month flows (t/month) and prices (index) of the element chain.

    ``stage[flow]`` arrays are [month, element, stage (oxide, metal), zone]; metal rows of
    non-magnet elements are 0. ``magnet[flow]`` arrays are [month, zone]. ``sector_use`` and
    ``sector_demand`` are [month, sector, zone]; ``mine`` is [month, deposit] (t REO).
    """

    base: Base
    labels: list[str]
    stage: dict[str, np.ndarray]
    price: np.ndarray  # [month, element, stage, zone]
    stock: np.ndarray  # [month, element, stage, zone], end of month
    magnet: dict[str, np.ndarray]
    magnet_price: np.ndarray  # [month, zone]
    magnet_stock: np.ndarray  # [month, zone]
    sector_use: np.ndarray
    sector_demand: np.ndarray
    mine: np.ndarray
    separated: np.ndarray  # [month, element, zone] t REO
    metal_bought: np.ndarray  # [month, element, zone] t metal bought by magnet makers
    metal_used: np.ndarray  # [month, element, zone] t metal in magnets made
    initial_stock: np.ndarray  # [element, stage, zone]
    initial_magnet_stock: np.ndarray  # [zone]

    def supply(self, element: str, stage: str, zone: str) -> np.ndarray:
        """What users in ``zone`` received of ``element`` at ``stage`` each month (t).

        Own output + stock release + imports - exports - unsold, i.e. the use it met.
        """
        e = self.base.elements.index(element)
        s = ("oxide", "metal").index(stage)
        z = ZONES.index(zone)
        st = self.stage
        out: np.ndarray = (
            st["direct"][:, e, s, z] + st["processing"][:, e, s, z] + st["restock"][:, e, s, z]
        )
        return out

    def magnet_supply(self, zone: str) -> np.ndarray:
        """Magnets used in ``zone`` each month (t NdFeB): final use + restocking."""
        z = ZONES.index(zone)
        out: np.ndarray = self.sector_use[:, :, z].sum(axis=1) + self.magnet["restock"][:, z]
        return out

    def frame(self) -> pd.DataFrame:
        """Long table: month, element, stage, zone, every flow (t), price index and USD/t."""
        rows: list[dict[str, object]] = []
        b = self.base
        for t, label in enumerate(self.labels):
            for e, el in enumerate(b.elements):
                for s, stage in enumerate(("oxide", "metal")):
                    if stage == "metal" and el not in b.magnet_elements:
                        continue
                    base_usd = b.oxide_usd_per_t[el] if stage == "oxide" else b.metal_usd_per_t[el]
                    for z, zone in enumerate(ZONES):
                        row: dict[str, object] = {
                            "month": label,
                            "element": el,
                            "stage": stage,
                            "zone": zone,
                        }
                        row.update({f: float(self.stage[f][t, e, s, z]) for f in FLOWS})
                        index = float(self.price[t, e, s, z])
                        row["price_index"] = index
                        row["price_usd_per_t"] = index * base_usd
                        row["stock"] = float(self.stock[t, e, s, z])
                        rows.append(row)
            for z, zone in enumerate(ZONES):
                mrow: dict[str, object] = {
                    "month": label,
                    "element": MAGNET,
                    "stage": MAGNET,
                    "zone": zone,
                }
                mrow.update({f: float(self.magnet[f][t, z]) for f in FLOWS})
                index = float(self.magnet_price[t, z])
                mrow["price_index"] = index
                mrow["price_usd_per_t"] = index * b.magnet_usd_per_t
                mrow["stock"] = float(self.magnet_stock[t, z])
                rows.append(mrow)
        return pd.DataFrame(rows)


def _param(name: str) -> float:
    """A market-model default, or the element chain's own (``chain.yaml``)."""
    own = chain_data()
    if name in own:
        return float(own[name])
    return float(getattr(default_parameters(), name))


def simulate_elements(
    shocks: Shocks,
    labels: list[str] | None = None,
    base: Base | None = None,
    parameters: Mapping[str, float] | None = None,
) -> ElementResult:
    """Run the element chain for ``shocks.months`` months from the base state."""
    b = base or calibrate()
    par = {
        k: _param(k)
        for k in (
            "processing_elasticity",
            "curtailment_elasticity",
            "supply_elasticity",
            "utilisation",
            "inventory_months",
            "holding_cost",
            "inventory_release_slope",
            "rebuild_months",
        )
    }
    par.update(parameters or {})
    n = shocks.months
    labels = labels or [str(k + 1) for k in range(n)]
    els = b.elements
    mags = b.magnet_elements
    ne, nz = len(els), len(ZONES)
    eta_p = par["processing_elasticity"]
    months_stock = par["inventory_months"]
    hc, slope, rebuild = par["holding_cost"], par["inventory_release_slope"], par["rebuild_months"]
    cap_factor = 1.0 / par["utilisation"]

    def per_month(x: float) -> float:
        return x / 12.0

    stage = {f: np.zeros((n, ne, 2, nz)) for f in FLOWS}
    price = np.ones((n, ne, 2, nz))
    stock_out = np.zeros((n, ne, 2, nz))
    magnet = {f: np.zeros((n, nz)) for f in FLOWS}
    magnet_price = np.ones((n, nz))
    magnet_stock_out = np.zeros((n, nz))
    sectors = list(b.sectors)
    sector_use = np.zeros((n, len(sectors), nz))
    sector_demand = np.zeros((n, len(sectors), nz))
    mine = np.zeros((n, len(b.deposits)))
    separated = np.zeros((n, ne, nz))
    metal_bought = np.zeros((n, ne, nz))
    metal_used = np.zeros((n, ne, nz))

    # reference stocks: inventory_months x monthly use at each stage and zone
    ref = np.zeros((ne, 2, nz))
    for e, el in enumerate(els):
        for z, zn in enumerate(ZONES):
            ref[e, 0, z] = months_stock * per_month(
                b.direct_use[zn][el] + b.oxide_purchases[zn][el]
            )
            if el in mags:
                ref[e, 1, z] = months_stock * per_month(b.metal_need[zn][el])
    stock = ref.copy()
    mag_ref = np.array([months_stock * per_month(b.magnet_use[z]) for z in ZONES])
    mag_stock = mag_ref.copy()
    prev_oxide_price = np.ones((ne, nz))
    oxide_usd = np.array([b.oxide_usd_per_t[el] for el in els])

    def zone(
        output: float, e: int, s: int, z: int, demand: tuple[tuple[float, float], ...]
    ) -> Zone:
        return Zone(output, stock[e, s, z], ref[e, s, z], slope, hc, rebuild, demand)

    def record(e: int, s: int, res: tuple[ZoneResult, ZoneResult], t: int) -> None:
        for z, r in enumerate(res):
            stage["output"][t, e, s, z] = r.output
            stage["release"][t, e, s, z] = r.release
            stage["direct"][t, e, s, z] = r.uses[0]
            stage["processing"][t, e, s, z] = r.uses[1] if len(r.uses) > 1 else 0.0
            stage["restock"][t, e, s, z] = r.restock
            stage["unsold"][t, e, s, z] = r.unsold
            stage["net_export"][t, e, s, z] = r.net_export
            price[t, e, s, z] = r.price
            stock[e, s, z] += r.restock + r.unsold - r.release

    def cap(key: tuple[str, str], base_flow: float, t: int) -> float | None:
        allowed = shocks.allowed.get(key)
        if allowed is None or allowed[t] >= 1.0:
            return None
        return float(allowed[t]) * max(per_month(base_flow), 0.0)

    for t in range(n):
        # 1. mines: basket value at last month's oxide prices where the concentrate is separated
        sep = np.zeros((ne, nz))
        for d, dep in enumerate(b.deposits):
            shares = np.array([dep.basket[el] for el in els])
            route_x = np.array([dep.route_xcn[el] for el in els])
            p_at = prev_oxide_price[:, 0] * (1 - route_x) + prev_oxide_price[:, 1] * route_x
            value = float((shares * oxide_usd * p_at).sum() / (shares * oxide_usd).sum())
            lost = float(shocks.outage[dep.id][t]) if dep.id in shocks.outage else 0.0
            response = 1.0 + b.mine_price_elasticity * (value - 1.0)
            m = per_month(dep.t_reo) * (1.0 - lost) * min(max(response, 0.0), cap_factor)
            mine[t, d] = m
            sep[:, 0] += m * shares * (1 - route_x)
            sep[:, 1] += m * shares * route_x
        separated[t] = sep
        # 2. oxide markets, every element
        for e, el in enumerate(els):
            zs = []
            for z, zn in enumerate(ZONES):
                demand: tuple[tuple[float, float], ...] = (
                    (per_month(b.direct_use[zn][el]), b.direct_elasticity),
                )
                if el in mags:
                    demand += ((per_month(b.oxide_purchases[zn][el]), eta_p),)
                zs.append(zone(float(sep[e, z]), e, 0, z, demand))
            res = clear(zs[0], zs[1], cap((el, "oxide"), b.oxide_flow(el), t))
            record(e, 0, res, t)
        # 3. metal markets: magnet makers buy on the metal price (processing elasticity;
        #    Dy and Tb also thrifted)
        for el in mags:
            e = els.index(el)
            zs = []
            for z, zn in enumerate(ZONES):
                made = stage["processing"][t, e, 0, z] * b.metal_per_oxide[el]
                eta = eta_p + (b.thrift_elasticity if el != "NdPr" else 0.0)
                need = per_month(b.metal_need[zn][el])
                # direct metal use is 0 in the base state: one block of 0 keeps the layout
                zs.append(zone(made, e, 1, z, ((0.0, 0.0), (need, eta))))
            res = clear(zs[0], zs[1], cap((el, "metal"), b.metal_flow(el), t))
            record(e, 1, res, t)
            for z in range(nz):
                metal_bought[t, e, z] = res[z].uses[1]
        # 4. most magnets the metal bought allows: heavy grade (Leontief in NdPr, Dy, Tb,
        #    Dy/Tb thrifted when dear) up to its base share, Dy-free grade from the NdPr left
        h = b.heavy_grade_share
        makeable = np.zeros(nz)
        heavy_made = np.zeros(nz)
        thrift = np.ones((ne, nz))
        for z, zn in enumerate(ZONES):
            avail = {el: metal_bought[t, els.index(el), z] for el in mags}
            base_out = per_month(b.magnet_output[zn]) * cap_factor
            heavy: float = h * base_out
            for el in ("Dy", "Tb"):
                e = els.index(el)
                thrift[e, z] = max(
                    1.0 + b.thrift_elasticity * (price[t, e, 1, z] - 1.0), b.thrift_floor
                )
                per_magnet = b.content[el] / h * thrift[e, z]
                if per_magnet > 0:
                    heavy = min(heavy, avail[el] / per_magnet)
            heavy = min(heavy, avail["NdPr"] / b.content["NdPr"])
            free: float = min(
                (1.0 - h) * base_out,
                (avail["NdPr"] - heavy * b.content["NdPr"]) / b.content["NdPr"],
            )
            heavy_made[z] = heavy
            makeable[z] = heavy + max(free, 0.0)
        # 5. magnet market: sector demand (with demand shocks)
        zs = []
        for z, zn in enumerate(ZONES):
            blocks = []
            for k, (sector, (share, elasticity)) in enumerate(b.sectors.items()):
                mult = float(shocks.demand[sector][t]) if sector in shocks.demand else 1.0
                wanted = per_month(b.magnet_use[zn]) * share * mult
                sector_demand[t, k, z] = wanted
                blocks.append((wanted, elasticity))
            zs.append(
                Zone(
                    per_month(b.magnet_output[zn]),
                    mag_stock[z],
                    mag_ref[z],
                    slope,
                    hc,
                    rebuild,
                    tuple(blocks),
                    curtail=par["curtailment_elasticity"],
                    expand=par["supply_elasticity"],
                    capacity=float(makeable[z]),
                )
            )
        res = clear(zs[0], zs[1], cap((MAGNET, MAGNET), b.magnet_flow(), t))
        for z, r in enumerate(res):
            # metal used by the magnets made (heavy grade first); the rest goes to stock
            made = r.output
            heavy = min(made, heavy_made[z])
            for el in mags:
                e = els.index(el)
                if el == "NdPr":
                    used = made * b.content["NdPr"]
                else:
                    used = heavy * b.content[el] / h * thrift[e, z]
                used = min(used, metal_bought[t, e, z])
                metal_used[t, e, z] = used
                stock[e, 1, z] += metal_bought[t, e, z] - used
            magnet["output"][t, z] = r.output
            magnet["release"][t, z] = r.release
            magnet["direct"][t, z] = sum(r.uses)
            magnet["restock"][t, z] = r.restock
            magnet["unsold"][t, z] = r.unsold
            magnet["net_export"][t, z] = r.net_export
            magnet_price[t, z] = r.price
            sector_use[t, :, z] = r.uses
            mag_stock[z] += r.restock + r.unsold - r.release
        stock_out[t] = stock
        magnet_stock_out[t] = mag_stock
        prev_oxide_price = price[t, :, 0, :].copy()
    return ElementResult(
        base=b,
        labels=labels,
        stage=stage,
        price=price,
        stock=stock_out,
        magnet=magnet,
        magnet_price=magnet_price,
        magnet_stock=magnet_stock_out,
        sector_use=sector_use,
        sector_demand=sector_demand,
        mine=mine,
        separated=separated,
        metal_bought=metal_bought,
        metal_used=metal_used,
        initial_stock=ref.copy(),
        initial_magnet_stock=mag_ref.copy(),
    )
