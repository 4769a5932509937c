"""Monthly and annual paths of a backtest run, in one long table.

Rows: ``period`` (``YYYY-MM`` or ``YYYY``), ``series``, ``good``, ``zone``, ``unit``,
``value``. Series: ``exports`` (China's net exports to the rest of the world, t/month or
t/yr; zone ``CHN>XCN``), ``unit_value`` (export-weighted ex-China price index of China's
rare-earth exports, index 1 = base year), ``price`` (index 1 = base year, per zone),
``stock`` (end of period, t; element chain only), ``pipeline`` (end of period, t, zone
``CHN``: metal exporters hold in China awaiting licence decisions), ``use`` and ``output``
(gallium and germanium, t). Goods: ``element|stage`` (oxide, metal) and ``magnet`` in the
element chain, ``Ga`` and ``Ge`` in the single-commodity markets. Annual rows sum flows,
average prices and take the last month's stock.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from critmin.simulation.elements.chain import ZONES
from critmin.simulation.elements.model import MAGNET, ElementResult
from critmin.simulation.elements.single import SingleResult

STAGES = ("oxide", "metal")
ARC = "CHN>XCN"
COLUMNS = ["period", "series", "good", "zone", "unit", "value"]


def _rows(
    labels: list[str], series: str, good: str, zone: str, unit: str, values: np.ndarray
) -> list[tuple[str, str, str, str, str, float]]:
    return [
        (lab, series, good, zone, unit, float(v)) for lab, v in zip(labels, values, strict=True)
    ]


def element_paths(res: ElementResult, unit_value: np.ndarray) -> pd.DataFrame:
    """Monthly and annual paths of an element-chain run (``unit_value``: [month] index)."""
    b, labels = res.base, res.labels
    rows = _rows(labels, "unit_value", "all", ARC, "index", unit_value)
    for e, el in enumerate(b.elements):
        for s, stage in enumerate(STAGES):
            if stage == "metal" and el not in b.magnet_elements:
                continue
            good = f"{el}|{stage}"
            unit = "t REO" if stage == "oxide" else "t metal"
            rows += _rows(labels, "exports", good, ARC, unit, res.stage["net_export"][:, e, s, 0])
            held = np.cumsum(res.stage["pipeline"][:, e, s, 0])
            rows += _rows(labels, "pipeline", good, "CHN", unit, held)
            for z, zone in enumerate(ZONES):
                rows += _rows(labels, "price", good, zone, "index", res.price[:, e, s, z])
                rows += _rows(labels, "stock", good, zone, unit, res.stock[:, e, s, z])
    rows += _rows(labels, "exports", MAGNET, ARC, "t NdFeB", res.magnet["net_export"][:, 0])
    held = np.cumsum(res.magnet["pipeline"][:, 0])
    rows += _rows(labels, "pipeline", MAGNET, "CHN", "t NdFeB", held)
    for z, zone in enumerate(ZONES):
        rows += _rows(labels, "price", MAGNET, zone, "index", res.magnet_price[:, z])
        rows += _rows(labels, "stock", MAGNET, zone, "t NdFeB", res.magnet_stock[:, z])
    return _with_years(pd.DataFrame(rows, columns=COLUMNS))


def single_paths(results: Mapping[str, SingleResult], labels: list[str]) -> pd.DataFrame:
    """Monthly and annual paths of the gallium and germanium markets."""
    rows = []
    for el, res in results.items():
        rows += _rows(labels, "exports", el, ARC, "t", res.exports)
        rows += _rows(labels, "pipeline", el, "CHN", "t", res.held)
        for z, zone in enumerate(ZONES):
            rows += _rows(labels, "price", el, zone, "index", res.price[:, z])
            rows += _rows(labels, "use", el, zone, "t", res.use[:, z])
            rows += _rows(labels, "output", el, zone, "t", res.output[:, z])
    return _with_years(pd.DataFrame(rows, columns=COLUMNS))


_ANNUAL = {"exports": "sum", "use": "sum", "output": "sum", "price": "mean",
           "unit_value": "mean", "stock": "last", "pipeline": "last"}  # fmt: skip


def _with_years(monthly: pd.DataFrame) -> pd.DataFrame:
    """``monthly`` followed by its annual rows (whole years only)."""
    frame = monthly.assign(year=monthly.period.str[:4])
    months = frame.groupby("year").period.nunique()
    frame = frame[frame.year.isin(months[months == 12].index)]
    keys = ["year", "series", "good", "zone", "unit"]
    parts = [monthly]
    for series, how in _ANNUAL.items():
        part = frame[frame.series == series]
        if len(part):
            annual = part.groupby(keys, sort=False).value.agg(how).reset_index()
            parts.append(annual.rename(columns={"year": "period"})[COLUMNS])
    return pd.concat(parts, ignore_index=True)
