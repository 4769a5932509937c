"""Annual price history for the price model, drawn from the embedded curated prices.

``data/price_history.csv`` names the series (NdPr oxide, Nd oxide, two lithium carbonate
series) with their citations; every row must match a row of the embedded
``curated/prices.csv`` (same specification, year, value, unit and source), so the figures used
here are exactly the embedded ones. Units: USD/kg for rare-earth oxides, USD/t for lithium
carbonate (annual averages).
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

import pandas as pd

from critmin.data import tables
from critmin.errors import DataError, unknown_value

# Which history estimates each commodity's price dynamics (see docs/methods/pricefloor.md):
# NdPr's own series is only 5 years long; the Nd oxide series (2014-2025) is its proxy.
ESTIMATION_SERIES = {
    "ndpr_oxide": "nd_oxide",
    "lithium_carbonate": "lithium_carbonate_benchmark",
}
LEVEL_SERIES = {"ndpr_oxide": "ndpr_oxide", "lithium_carbonate": "lithium_carbonate_benchmark"}
UNITS = {"ndpr_oxide": "USD/kg", "lithium_carbonate": "USD/t"}


@cache
def price_history() -> pd.DataFrame:
    """All cited annual series (series_id, year, value, unit, source ...), checked against
    the embedded curated prices."""
    path = files("critmin.analysis.pricefloor") / "data" / "price_history.csv"
    with path.open("r", encoding="utf-8") as handle:
        frame = pd.read_csv(handle)
    embedded = tables.curated("prices")
    for row in frame.itertuples():
        match = embedded[
            (embedded["specification"] == row.specification)
            & (embedded["year"].astype(str) == str(row.year))
            & (pd.to_numeric(embedded["value"], errors="coerce") == row.value)
            & (embedded["unit"] == row.unit)
            & (embedded["source_url"] == row.source_url)
        ]
        if match.empty:
            raise DataError(
                f"price_history.csv: {row.series_id} {row.year} = {row.value}: "
                "no matching row in the embedded curated prices"
            )
    return frame


def series(series_id: str) -> pd.Series:
    """One annual series indexed by year (value in its unit)."""
    frame = price_history()
    known = sorted(frame["series_id"].unique())
    if series_id not in known:
        raise unknown_value("price series", series_id, known)
    part = frame[frame["series_id"] == series_id]
    return part.set_index("year")["value"].astype(float).sort_index()


def latest_price(commodity: str) -> tuple[float, int]:
    """The newest annual price of ``commodity``'s level series (value, year)."""
    if commodity not in LEVEL_SERIES:
        raise unknown_value("commodity", commodity, LEVEL_SERIES)
    s = series(LEVEL_SERIES[commodity])
    return float(s.iloc[-1]), int(s.index[-1])
