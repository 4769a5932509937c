"""LNG as a commodity in :class:`SupplyNetwork`: supplier countries -> importers (BACI t).

The embedded catalogue has ``natural_gas`` with a ``liquefaction`` stage (HS 271111) whose
output no source gives by country. :func:`lng_network` keeps that stage and fills its output
with each country's LNG exports in BACI (t; re-exports included, a stated approximation),
so that shares, trade and the indicators of ``critmin.analysis`` work on LNG as on any
mineral.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from critmin.lng.data import COMMODITY, STAGE, check_year, imports_by_source
from critmin.network.build import load_network
from critmin.network.supply_network import SupplyNetwork


def lng_network(year: int = 2024, alliance: str = "US-JP") -> SupplyNetwork:
    """The LNG stage of ``natural_gas`` in ``year`` with output = BACI exports (t LNG)."""
    check_year(year)
    net = load_network(COMMODITY, year=year, alliance=alliance)
    ds = net.ds.sel(stage=[STAGE]).copy()
    q = ds["trade_quantity"].fillna(0.0)
    diagonal = (q["exporter"].values[:, None] == q["importer"].values[None, :]).astype(float)
    exports = (q * (1.0 - diagonal[None, None])).sum("importer").rename({"exporter": "country"})
    exports = exports.reindex(country=ds["country"].values, fill_value=0.0)
    world = exports.sum("country")
    ds["production"] = exports
    ds["share"] = exports / world
    ds["world_production"] = world
    ds["capacity"] = exports * np.nan
    ds.attrs["production_basis"] = "liquefaction output = LNG exports in BACI (HS 271111), t"
    return SupplyNetwork(ds)


def hhi(shares: pd.Series) -> float:
    """Herfindahl-Hirschman index of ``shares`` (fractions), on the 0-10,000 scale."""
    s = shares[shares > 0]
    return float(((100.0 * s / s.sum()) ** 2).sum())


def supplier_shares(year: int = 2024, importer: str = "JPN") -> pd.DataFrame:
    """``importer``'s LNG suppliers in ``year`` (BACI): source, quantity_t, value_usd,
    unit_value_usd_per_t, share (0-1), largest first."""
    frame = imports_by_source(importer, [year])
    return frame.drop(columns="year").reset_index(drop=True)
