"""Two-zone monthly market of one commodity (gallium, germanium): China and the rest.

The same clearing as the element chain (:mod:`critmin.simulation.elements.market`): fixed
monthly output per zone, working stocks, linear demand, China's exports capped at
``allowed[t] x`` base exports. Base volumes (t/yr) and their sources are in
``single.yaml``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from critmin.market.params import default_parameters
from critmin.simulation.elements.market import Zone, clear

SINGLE_FILE = Path(__file__).with_name("single.yaml")


@cache
def single_data() -> dict[str, Any]:
    """Parsed ``single.yaml``."""
    data: dict[str, Any] = yaml.safe_load(SINGLE_FILE.read_text(encoding="utf-8"))
    return data


@dataclass(frozen=True)
class SingleResult:
    """Monthly results: price index, output, use, China's net exports (t/month) by zone."""

    price: np.ndarray  # [month, zone]
    use: np.ndarray  # [month, zone]
    output: np.ndarray  # [month, zone]
    exports: np.ndarray  # [month] China's net exports
    base_exports: float  # t/month
    balance: np.ndarray  # [month, zone] output + release - use - restock - unsold - exports


def simulate_single(element: str, allowed: np.ndarray) -> SingleResult:
    """Run the two-zone market of ``element`` (``Ga`` or ``Ge``) under ``allowed`` shares."""
    spec = single_data()[element]
    par = default_parameters()
    out_c = float(spec["china_output_t"]) / 12.0
    out_x = float(spec["rest_output_t"]) / 12.0
    exports = float(spec["china_exports_t"]) / 12.0
    use_c, use_x = out_c - exports, out_x + exports
    eta = par.final_elasticity
    ref = np.array([use_c, use_x]) * par.inventory_months
    stock = ref.copy()
    n = len(allowed)
    price = np.ones((n, 2))
    use = np.zeros((n, 2))
    output = np.zeros((n, 2))
    flow = np.zeros(n)
    balance = np.zeros((n, 2))
    for t in range(n):
        zones = [
            Zone(
                out, stock[z], ref[z], par.inventory_release_slope, par.holding_cost,
                par.rebuild_months, ((u, eta),), curtail=par.curtailment_elasticity,
                expand=par.supply_elasticity, capacity=out / par.utilisation,
            )
            for z, (out, u) in enumerate(((out_c, use_c), (out_x, use_x)))
        ]  # fmt: skip
        cap = None if allowed[t] >= 1.0 else float(allowed[t]) * exports
        res = clear(zones[0], zones[1], cap)
        for z, r in enumerate(res):
            price[t, z] = r.price
            use[t, z] = sum(r.uses)
            output[t, z] = r.output
            balance[t, z] = r.balance()
            stock[z] += r.restock + r.unsold - r.release
        flow[t] = res[0].net_export
    return SingleResult(price, use, output, flow, exports, balance)
