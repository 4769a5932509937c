"""Base prices of the commodity chains (USD per tonne of the stage unit), from
``parameters.yaml``: a row of the curated price table or a stated derivation from another
stage. The behavioural parameters of the market model live in ``critmin.market.params``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

from critmin.data import tables
from critmin.errors import DataError

PARAMETERS_FILE = Path(__file__).with_name("parameters.yaml")


@cache
def _raw() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(PARAMETERS_FILE.read_text(encoding="utf-8"))
    return data


def base_price(commodity: str, stage: str) -> tuple[float, str]:
    """Base price of ``commodity`` at ``stage`` (USD per t of the stage unit) and its basis."""
    entries = _raw()["base_prices"].get(commodity, {})
    if stage not in entries:
        raise DataError(
            f"base price of {commodity}/{stage}: none in simulation/parameters.yaml; add a "
            "price_row or a derived entry"
        )
    entry = entries[stage]
    if "derived" in entry:
        upstream, _ = base_price(commodity, entry["derived"]["from"])
        return upstream * float(entry["derived"]["factor"]), str(entry["basis"])
    row = entry["price_row"]
    prices = tables.curated("prices")
    hits = prices[
        (prices["commodity"] == commodity)
        & (prices["specification"] == row["specification"])
        & (prices["year_num"] == row["year"])
        & prices["value_num"].notna()
    ]
    if hits.empty:
        raise DataError(f"base price of {commodity}/{stage}: no curated price row {row}")
    value = float(hits["value_num"].iloc[0])
    unit = str(hits["unit"].iloc[0])
    per_tonne = {"USD/kg": 1000.0, "USD/t": 1.0, "USD/lb": 2204.62262}
    if unit not in per_tonne:
        raise DataError(f"base price of {commodity}/{stage}: unit {unit!r} not convertible")
    return value * per_tonne[unit], str(entry["basis"])
