"""Price-floor finance: a mean-reverting log price with a dumping regime, Monte Carlo value
of a floor / contract for difference, and a project's NPV and IRR with and without it.

``value_floor(estimate("ndpr_oxide"), FloorTerms(110, 10, 1000))`` values the DoD-MP
Materials floor on 1,000 t/yr; formulation and estimator in ``docs/methods/pricefloor.md``.
"""

from critmin.analysis.pricefloor.history import price_history, series
from critmin.analysis.pricefloor.process import (
    DUMPING_PRESETS,
    Dumping,
    PriceProcess,
    dumping_preset,
    estimate,
)
from critmin.analysis.pricefloor.reference import reference_case
from critmin.analysis.pricefloor.valuation import (
    FloorTerms,
    FloorValuation,
    Project,
    black_scholes_put,
    closed_form_floor,
    irr,
    value_floor,
)

__all__ = [
    "DUMPING_PRESETS",
    "Dumping",
    "FloorTerms",
    "FloorValuation",
    "PriceProcess",
    "Project",
    "black_scholes_put",
    "closed_form_floor",
    "dumping_preset",
    "estimate",
    "irr",
    "price_history",
    "reference_case",
    "series",
    "value_floor",
]
