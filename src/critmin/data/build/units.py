"""Unit conversion for the curated chain figures: source units -> the stage unit.

A quantity unit is a scale word and a content basis: ``"kt REO"`` is 1,000 t of rare-earth
oxide, ``"t NdFeB"`` a tonne of magnet, ``"GWh"`` a gigawatt-hour of cells. A figure in
another basis than its stage's (``"t Li"`` for a stage in ``"t LCE"``) is converted with a
factor of ``catalog/chains/conversions.csv``, which cites its basis; that table says
``1 from_unit = factor to_unit`` and is kept here in base units (t, GWh, m3, MMBtu) so that
any scale of either unit converts. Prices are ``"USD/<quantity unit>"`` and are converted to
USD per stage unit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from critmin.errors import DataError

TROY_OUNCE_T = 31.1034768e-6  # t per troy ounce (definition)
POUND_T = 0.45359237e-3  # t per avoirdupois pound (definition)

#: scale words: (dimension, size in the dimension's base: t for mass, GWh for energy)
SCALES: dict[str, tuple[str, float]] = {
    "g": ("mass", 1e-6),
    "kg": ("mass", 1e-3),
    "t": ("mass", 1.0),
    "kt": ("mass", 1e3),
    "Mt": ("mass", 1e6),
    "lb": ("mass", POUND_T),
    "toz": ("mass", TROY_OUNCE_T),
    "koz": ("mass", TROY_OUNCE_T * 1e3),
    "Moz": ("mass", TROY_OUNCE_T * 1e6),
    "ct": ("mass", 2e-7),  # metric carat, 0.2 g
    "kWh": ("energy", 1e-6),
    "MWh": ("energy", 1e-3),
    "GWh": ("energy", 1.0),
    "TWh": ("energy", 1e3),
    "m3": ("volume", 1.0),
    "million": ("volume", 1e6),  # "million m3"
    "MMBtu": ("heat", 1.0),
}
#: money words for trade values (USD)
MONEY: dict[str, float] = {"USD": 1.0, "kUSD": 1e3, "MUSD": 1e6, "bnUSD": 1e9}

_PRICE = re.compile(r"^USD\s*/\s*(?P<quantity>.+)$")


@dataclass(frozen=True)
class Quantity:
    """A parsed quantity unit: dimension, size in the base unit, content basis."""

    dimension: str
    size: float
    content: str

    @property
    def basis(self) -> str:
        """Dimension and content, the key of a conversion factor (``mass:REO``)."""
        return f"{self.dimension}:{self.content}"


def parse_quantity(unit: str) -> Quantity:
    """``"kt REO"`` -> Quantity("mass", 1000.0, "REO"); errors name the unit."""
    head, _, content = str(unit).strip().partition(" ")
    if head not in SCALES:
        raise DataError(f"unit {unit!r}: must start with one of {', '.join(SCALES)}")
    dimension, size = SCALES[head]
    return Quantity(dimension, size, content.strip())


@dataclass(frozen=True)
class Converter:
    """Converts quantities and prices of one commodity into its stage units.

    ``factors`` maps (source basis, target basis) to base units of the target per base unit
    of the source (t per t, m3 per MMBtu ...).
    """

    commodity: str
    factors: dict[tuple[str, str], float]

    @staticmethod
    def base_factor(from_unit: str, to_unit: str, factor: float) -> tuple[tuple[str, str], float]:
        """A conversions.csv row (1 from_unit = factor to_unit) as a base-unit factor."""
        source, goal = parse_quantity(from_unit), parse_quantity(to_unit)
        return (source.basis, goal.basis), factor * goal.size / source.size

    def quantity_factor(self, unit: str, target: str) -> float:
        """Multiply a value in ``unit`` by this to get ``target`` units."""
        source, goal = parse_quantity(unit), parse_quantity(target)
        if source.basis == goal.basis:
            return source.size / goal.size
        key = (source.basis, goal.basis)
        if key not in self.factors:
            raise DataError(
                f"{self.commodity}: no conversion from {unit!r} to {target!r}; "
                "add it to catalog/chains/conversions.csv"
            )
        return source.size * self.factors[key] / goal.size

    def price_factor(self, unit: str, target_quantity: str) -> float:
        """Multiply a price in ``unit`` (``USD/kg REO``) by this for USD per target unit."""
        match = _PRICE.match(str(unit).strip())
        if match is None:
            raise DataError(f"price unit {unit!r}: must be 'USD/<quantity unit>'")
        return 1.0 / self.quantity_factor(match.group("quantity"), target_quantity)


def money_factor(unit: str) -> float:
    """USD per one ``unit`` of trade value (``MUSD`` -> 1e6)."""
    if unit not in MONEY:
        raise DataError(f"trade value unit {unit!r}: must be one of {', '.join(MONEY)}")
    return MONEY[unit]
