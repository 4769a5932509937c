"""Words and numbers as a reader sees them: names instead of ids, units, shares in per cent,
no floating-point dust, and "no data" (with the reason) instead of NaN or None."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import pandas as pd

from critmin.report import engines

# Display names of the chain stages (the ids are the network's labels).
STAGE_NAMES = {
    "mining": "mining",
    "separation": "separation",
    "refining": "refining",
    "liquefaction": "liquefaction",
    "metal": "metal and alloys",
    "magnet": "magnets",
}
# Display names of the price-floor products (the ids are those of critmin pricefloor).
PRODUCT_NAMES = {"ndpr_oxide": "NdPr oxide", "lithium_carbonate": "lithium carbonate"}
ARRANGEMENT_NAMES = {
    "alone": "each ally alone",
    "joint": "complementary (joint)",
    "rule": "rule of thumb (days of use)",
}
DUMPING_NAMES = {"none": "no dumping", "moderate": "moderate dumping", "severe": "severe dumping"}
INSTRUMENT_NAMES = {
    "grant": "grant",
    "loan": "loan",
    "equity": "equity",
    "offtake": "offtake",
    "price_floor": "price floor",
}
ROW = "rest of world (not attributed)"
NO_DATA = "no data"
# |value| below this share of the figure's scale is rounding noise of a solver or a sum
DUST = 1e-9


def commodity(commodity_id: str) -> str:
    """``rare_earths`` -> ``Rare earths`` (the catalogue's name, in sentence case)."""
    try:
        name = engines.commodity(commodity_id).name
    except Exception:  # an id outside the catalogue is shown as words
        name = commodity_id.replace("_", " ")
    return name[:1].upper() + name[1:].lower()


def stage(stage_id: str) -> str:
    return STAGE_NAMES.get(stage_id, stage_id.replace("_", " "))


def case(commodity_id: str, stage_id: str) -> str:
    """``Rare earths, magnets``."""
    return f"{commodity(commodity_id)}, {stage(stage_id)}"


def product(commodity_id: str, stage_id: str) -> str:
    """The stage's product in words (``sintered NdFeB permanent magnets``)."""
    try:
        return str(engines.commodity(commodity_id).stage(stage_id).product)
    except Exception:  # a stage outside the catalogue: its words
        return f"{commodity(commodity_id).lower()} {stage(stage_id)}"


def country(code: str) -> str:
    """ISO3 -> short name; ``ROW`` -> rest of world; a group id stays as it is."""
    if code == "ROW":
        return ROW
    return engines.country_names().get(code, code)


def countries(codes: Iterable[str]) -> str:
    return ", ".join(country(c) for c in codes)


def short_title(description: str, fallback: str) -> str:
    """The first clause of a description, without its parentheses: ``The Strait of Hormuz
    closes for four months (assumption ...): ...`` -> ``The Strait of Hormuz closes for four
    months``."""
    text = " ".join(description.split())
    while True:
        shorter = re.sub(r"\s*\([^()]*\)", "", text)
        if shorter == text:
            break
        text = shorter
    text = re.split(r"[:;]|\.\s", text)[0].strip().rstrip(".")
    return text or fallback.replace("_", " ")


def words(text: str) -> str:
    """Engine messages for readers: commodity ids (``rare_earths``) as names."""
    for commodity_id in engines.catalog():
        if "_" in commodity_id and commodity_id in text:
            text = re.sub(rf"\b{commodity_id}\b", commodity(commodity_id).lower(), text)
    return text


def missing(value: Any) -> bool:
    """None, NaN, pandas NA and empty text are missing."""
    if isinstance(value, str):
        return not value.strip()
    return value is None or bool(pd.api.types.is_scalar(value) and pd.isna(value))


def _float(value: Any) -> float:
    return float(value)


def clean(value: float, scale: float = 1.0) -> float:
    """``value`` with solver noise (below 1e-9 of ``scale``) set to 0; no negative zero."""
    if abs(value) < DUST * max(1.0, abs(scale)):
        return 0.0
    return value


def number(value: Any, digits: int = 3, reason: str = "") -> str:
    """``12,345``, ``0.322``, ``1.5``; ``no data`` (and the reason) when missing."""
    if missing(value):
        return NO_DATA + (f" ({reason})" if reason else "")
    x = clean(_float(value))
    if x == 0:
        return "0"
    if abs(x) >= 10 ** (digits - 1):
        return f"{x:,.0f}"
    return f"{x:,.{digits}g}" if abs(x) >= 1e-4 else f"{x:.2e}"


def percent(value: Any, reason: str = "", signed: bool = False) -> str:
    """A 0-1 share as ``94%``, ``8.5%``, ``0.4%`` (``+`` on request)."""
    if missing(value):
        return NO_DATA + (f" ({reason})" if reason else "")
    x = clean(100 * _float(value), 100)
    sign = "+" if signed and x > 0 else ""
    if x == 0:
        return "0%"
    if abs(x) >= 10:
        return f"{sign}{x:,.0f}%"
    if abs(x) < 0.05:
        return "<0.1%" if x > 0 else ">-0.1%"
    return f"{sign}{x:.1f}%"


def percent_pair(before: Any, after: Any) -> tuple[str, str]:
    """Two 0-1 shares as ``percent`` writes them, with one or two more decimals where the
    plain figures would read the same (``88.4%`` and ``87.9%``, not ``88%`` and ``88%``)."""
    first, second = percent(before), percent(after)
    if first != second or missing(before) or missing(after):
        return first, second
    for digits in (1, 2):
        first, second = (f"{100 * _float(x):.{digits}f}%" for x in (before, after))
        if first != second:
            break
    return first, second


def usd(value: Any, reason: str = "") -> str:
    """``3.5 bn USD``, ``435 M USD``, ``106,965 USD``."""
    if missing(value):
        return NO_DATA + (f" ({reason})" if reason else "")
    x = clean(_float(value), 1e6)
    if abs(x) >= 1e9:
        return f"{x / 1e9:,.2f} bn USD"
    if abs(x) >= 1e6:
        return f"{x / 1e6:,.{1 if abs(x) < 1e8 else 0}f} M USD"
    return f"{x:,.0f} USD"


def quantity(value: Any, unit: str, reason: str = "") -> str:
    """``17,768 t REO``; ``3.7 Mt LNG`` above a million tonnes."""
    if missing(value):
        return NO_DATA + (f" ({reason})" if reason else "")
    x = clean(_float(value))
    if unit.startswith("t") and abs(x) >= 1e6:
        return f"{x / 1e6:,.1f} M{unit}"
    return f"{number(x)} {unit}".strip()


def flag_text(value: Any) -> str:
    """True/False as yes/no."""
    if missing(value):
        return NO_DATA
    return "yes" if bool(value) else "no"


def floor_terms(row: Any) -> str:
    """The floor's terms in words: floor, volume (or its ramp), product, term, upside share."""
    name = PRODUCT_NAMES.get(str(row["commodity"]), str(row["commodity"]))
    first, full = float(row["volume_first_tpa"]), float(row["volume_full_tpa"])
    volume = (f"{number(first)} t/yr" if first == full else
              f"{number(first)} t/yr rising to {number(full)} t/yr")
    upside = (f" (the payer takes {percent(row['upside_share'])} of the upside)"
              if float(row["upside_share"]) > 0 else "")
    return (f"{float(row['floor']):g} {row['unit']} on {volume} of {name} for "
            f"{row['years']} years{upside}")  # fmt: skip
