"""The rare-earth chain at element grain: cited data (``chain.yaml``) and its base state.

Zones ``CHN`` (China) and ``XCN`` (everyone else). Each deposit group yields a fixed basket
of elements (co-production); its concentrate is separated in China or outside it; separated
oxides of NdPr, Dy and Tb become metals (stoichiometric metal per oxide) and NdFeB magnets by
a recipe; La, Ce and the other elements go to direct (non-magnet) uses. Quantities are t/yr in
the base state: t REO (oxide), t metal, t NdFeB. :func:`calibrate` derives every base flow
of a year from the data of that year (``years`` of ``chain.yaml``: deposits, magnet shares,
China's compound exports, prices) and the shared data (baskets, recipe, sectors); the
derivation is in docs/methods/elements.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from critmin.errors import DataError

CHAIN_FILE = Path(__file__).with_name("chain.yaml")
ZONES = ("CHN", "XCN")
STAGES = ("oxide", "metal", "magnet")
HEAVY = ("Dy", "Tb", "other")


@cache
def chain_data() -> dict[str, Any]:
    """The parsed ``chain.yaml`` (cited inputs)."""
    data: dict[str, Any] = yaml.safe_load(CHAIN_FILE.read_text(encoding="utf-8"))
    for name, basket in data["baskets"].items():
        total = sum(basket.values())
        if abs(total - 100.0) > 1e-6:
            raise DataError(f"chain.yaml: baskets.{name} sums to {total}, not 100")
    return data


def chain_years() -> tuple[int, ...]:
    """Years with a base state in ``chain.yaml``."""
    return tuple(sorted(int(y) for y in chain_data()["years"]))


def year_data(year: int) -> dict[str, Any]:
    """The year-specific inputs of ``chain.yaml`` (deposits, magnet shares, compound exports,
    prices); an unknown year is a one-line error."""
    years = chain_data()["years"]
    if year not in years:
        raise DataError(
            f"chain.yaml: year {year} has no base state; years: "
            f"{', '.join(str(y) for y in chain_years())}"
        )
    out: dict[str, Any] = years[year]
    return out


@dataclass(frozen=True)
class Deposit:
    """One deposit group: output (t REO/yr), basket (fractions) and routing to XCN by element."""

    id: str
    country: str
    t_reo: float
    basket: dict[str, float]
    route_xcn: dict[str, float]


@dataclass(frozen=True)
class Base:
    """Base state of ``year`` (t/yr unless stated). Dicts are keyed by element, zone or
    sector."""

    year: int
    elements: tuple[str, ...]
    magnet_elements: tuple[str, ...]
    deposits: tuple[Deposit, ...]
    metal_per_oxide: dict[str, float]
    oxide_output: dict[str, dict[str, float]]  # zone -> element -> t REO
    direct_use: dict[str, dict[str, float]]  # zone -> element -> t REO
    oxide_purchases: dict[str, dict[str, float]]  # zone -> element -> t REO (metal makers)
    metal_output: dict[str, dict[str, float]]  # zone -> element -> t metal
    metal_need: dict[str, dict[str, float]]  # zone -> element -> t metal (magnet makers)
    magnet_output: dict[str, float]  # zone -> t NdFeB
    magnet_use: dict[str, float]  # zone -> t NdFeB
    content: dict[str, float]  # element -> t metal per t magnet (average)
    heavy_grade_share: float
    sectors: dict[str, tuple[float, float]]  # sector -> (share, elasticity)
    xcn_direct_share: float
    oxide_usd_per_t: dict[str, float]
    metal_usd_per_t: dict[str, float]
    magnet_usd_per_t: float
    thrift_elasticity: float
    thrift_floor: float
    mine_price_elasticity: float
    notes: list[str] = field(default_factory=list)

    def oxide_flow(self, element: str) -> float:
        """Base net exports of separated oxide from CHN to XCN (t REO/yr; < 0: XCN -> CHN)."""
        x = "XCN"
        return (
            self.direct_use[x][element]
            + self.oxide_purchases[x][element]
            - self.oxide_output[x][element]
        )

    def metal_flow(self, element: str) -> float:
        """Base net exports of metal from CHN to XCN (t metal/yr)."""
        return self.metal_need["XCN"][element] - self.metal_output["XCN"][element]

    def magnet_flow(self) -> float:
        """Base net exports of magnets from CHN to XCN (t NdFeB/yr)."""
        return self.magnet_use["XCN"] - self.magnet_output["XCN"]

    def world_oxide(self, element: str) -> float:
        """World separated output of ``element`` (t REO/yr)."""
        return sum(self.oxide_output[z][element] for z in ZONES)


def deposits(year: int = 2024) -> tuple[Deposit, ...]:
    """Deposit groups of ``year`` in ``chain.yaml`` with baskets as fractions."""
    data = chain_data()
    out = []
    for row in year_data(year)["deposits"]:
        basket = {e: v / 100.0 for e, v in data["baskets"][row["basket"]].items()}
        heavy = float(row.get("route_xcn_heavy", row["route_xcn"]))
        route = {e: (heavy if e in HEAVY else float(row["route_xcn"])) for e in basket}
        out.append(Deposit(row["id"], row["country"], float(row["t_reo"]), basket, route))
    return tuple(out)


@cache
def calibrate(year: int = 2024) -> Base:
    """Base flows of every element, stage and zone in ``year`` (t/yr) from the cited data."""
    data = chain_data()
    yd = year_data(year)
    elements = tuple(data["elements"])
    mags = tuple(data["magnet_elements"])
    deps = deposits(year)
    y = {e: float(v) for e, v in data["metal_per_oxide"].items()}
    mag = {**data["magnet"], **yd["magnet"]}
    oxide = {z: {e: 0.0 for e in elements} for z in ZONES}
    for d in deps:
        for e in elements:
            t = d.t_reo * d.basket[e]
            oxide["XCN"][e] += t * d.route_xcn[e]
            oxide["CHN"][e] += t * (1.0 - d.route_xcn[e])
    world = {e: oxide["CHN"][e] + oxide["XCN"][e] for e in elements}
    share = {e: float(v) for e, v in mag["magnet_share_of_use"].items()}
    # world magnet output Y and contents: c_e = W_e f_e y_e / Y (Dy, Tb); NdPr the rest of
    # the total rare-earth content; Y from NdPr. Fixed point, converges in a few steps.
    total_re = float(mag["total_re_content"])
    content = {"NdPr": total_re, "Dy": 0.0, "Tb": 0.0}
    magnets = 0.0
    for _ in range(100):
        magnets = world["NdPr"] * share["NdPr"] * y["NdPr"] / content["NdPr"]
        for e in ("Dy", "Tb"):
            content[e] = world[e] * share[e] * y[e] / magnets
        content["NdPr"] = total_re - content["Dy"] - content["Tb"]
    prod = {z: magnets * float(mag["share_production"][z]) for z in ZONES}
    use_x = prod["XCN"] + float(mag["china_export_share_of_output"]) * prod["CHN"]
    use = {"CHN": magnets - use_x, "XCN": use_x}
    need = {z: {e: prod[z] * content[e] for e in mags} for z in ZONES}
    direct_world = {
        e: world[e] - (prod["CHN"] + prod["XCN"]) * content[e] / y[e] if e in mags else world[e]
        for e in elements
    }
    non_magnet = [e for e in elements if e not in mags]
    x_share = (
        float(yd["china_compound_exports_t"]) + sum(oxide["XCN"][e] for e in non_magnet)
    ) / sum(world[e] for e in non_magnet)
    direct = {
        "XCN": {e: x_share * direct_world[e] for e in elements},
        "CHN": {e: (1.0 - x_share) * direct_world[e] for e in elements},
    }
    metal_x = {
        e: min(need["XCN"][e], max(oxide["XCN"][e] - direct["XCN"][e], 0.0) * y[e]) for e in mags
    }
    metal = {
        "XCN": metal_x,
        "CHN": {e: need["CHN"][e] + need["XCN"][e] - metal_x[e] for e in mags},
    }
    purchases = {
        z: {e: (metal[z][e] / y[e] if e in mags else 0.0) for e in elements} for z in ZONES
    }
    prices = yd["prices"]
    oxide_usd = {e: float(prices["oxide"][e]["usd_per_t"]) for e in elements}
    metal_usd = {e: oxide_usd[e] / y[e] * float(data["metal_margin"]) for e in mags}
    sectors = {s: (float(v["share"]), float(v["elasticity"])) for s, v in data["sectors"].items()}
    if abs(sum(v[0] for v in sectors.values()) - 1.0) > 1e-9:
        raise DataError("chain.yaml: sector shares do not sum to 1")
    notes = [
        f"world magnet output implied by NdPr supply in {year}: {magnets:,.0f} t/yr "
        f"(undocumented mining and swarf recycling are not in the data)",
        f"calibrated average contents: NdPr {content['NdPr']:.3%}, Dy {content['Dy']:.3%}, "
        f"Tb {content['Tb']:.3%} of magnet mass",
        f"ex-China share of non-magnet oxide use: {x_share:.1%}",
    ]
    return Base(
        year=year,
        elements=elements,
        magnet_elements=mags,
        deposits=deps,
        metal_per_oxide=y,
        oxide_output=oxide,
        direct_use=direct,
        oxide_purchases=purchases,
        metal_output=metal,
        metal_need=need,
        magnet_output=prod,
        magnet_use=use,
        content=content,
        heavy_grade_share=float(mag["heavy_grade_share"]),
        sectors=sectors,
        xcn_direct_share=x_share,
        oxide_usd_per_t=oxide_usd,
        metal_usd_per_t=metal_usd,
        magnet_usd_per_t=float(prices["magnet_usd_per_t"]),
        thrift_elasticity=float(mag["thrift_elasticity"]),
        thrift_floor=float(mag["thrift_floor"]),
        mine_price_elasticity=float(data["mine_price_elasticity"]),
        notes=notes,
    )
