"""The terms of a floor (contract for difference): floor price, term, volume by contract year,
and the payer's share of the upside (strike, share, yearly cap, first year it applies).

Units: prices in the commodity's unit (USD/kg or USD/t), volumes in t/yr, money USD. Contract
year ``y`` covers months ``12 (y - 1) + 1 .. 12 y`` of the term.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from critmin.errors import InputError

KG_PER_T = 1000.0


@dataclass(frozen=True)
class FloorTerms:
    """A floor of ``floor`` per unit for ``years`` years on ``volume_tpa`` t/yr: one number
    (constant) or one per contract year (a ramp). With ``upside_share`` the payer receives
    that share of ``max(P - upside_strike, 0)`` (strike default: the floor) from contract year
    ``upside_from_year`` on, at most ``upside_cap_usd`` per contract year (None: no cap)."""

    floor: float
    years: int
    volume_tpa: float | tuple[float, ...]
    unit: str = "USD/kg"
    upside_share: float = 0.0
    upside_strike: float | None = None
    upside_cap_usd: float | None = None
    upside_from_year: int = 1

    def __post_init__(self) -> None:
        if not self.floor > 0:
            raise InputError(f"floor {self.floor}: must be > 0")
        if self.years < 1:
            raise InputError(f"years {self.years}: must be at least 1")
        volumes = self.volumes
        if isinstance(self.volume_tpa, Sequence) and len(volumes) != self.years:
            raise InputError(
                f"volume_tpa: {len(volumes)} yearly volumes for a term of {self.years} years"
            )
        if not all(v > 0 and math.isfinite(v) for v in volumes):
            raise InputError(f"volume_tpa {self.volume_tpa}: every volume must be > 0")
        if not 0 <= self.upside_share <= 1:
            raise InputError(f"upside_share {self.upside_share}: must lie in [0, 1]")
        if self.upside_strike is not None and not self.upside_strike > 0:
            raise InputError(f"upside_strike {self.upside_strike}: must be > 0")
        if self.upside_cap_usd is not None and self.upside_cap_usd < 0:
            raise InputError(f"upside_cap_usd {self.upside_cap_usd}: must be >= 0")
        if not 1 <= self.upside_from_year <= self.years:
            raise InputError(
                f"upside_from_year {self.upside_from_year}: must lie in 1..{self.years}"
            )

    @property
    def volumes(self) -> tuple[float, ...]:
        """Volume of each contract year, t/yr."""
        if isinstance(self.volume_tpa, Sequence):
            return tuple(float(v) for v in self.volume_tpa)
        return (float(self.volume_tpa),) * self.years

    @property
    def strike(self) -> float:
        """Price above which the upside is shared (the floor unless set)."""
        return self.floor if self.upside_strike is None else self.upside_strike

    def monthly_units(self) -> np.ndarray:
        """Priced units (kg or t) of each month of the term, shape [12 years]."""
        per_t = KG_PER_T if self.unit.endswith("/kg") else 1.0
        return np.repeat(np.array(self.volumes) * per_t / 12.0, 12)

    def upside_months(self) -> np.ndarray:
        """1.0 for the months in which the upside is shared, else 0.0, shape [12 years]."""
        on = np.arange(12 * self.years) >= 12 * (self.upside_from_year - 1)
        return on.astype(float) if self.upside_share > 0 else np.zeros(12 * self.years)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready terms (volumes per contract year)."""
        return {
            "floor": self.floor,
            "years": self.years,
            "volume_tpa": list(self.volumes),
            "unit": self.unit,
            "upside_share": self.upside_share,
            "upside_strike": self.strike,
            "upside_cap_usd": self.upside_cap_usd,
            "upside_from_year": self.upside_from_year,
        }
