"""Price-floor finance: a mean-reverting log price with a dumping regime, its parameters'
posterior, Monte Carlo value of a floor / contract for difference with an interval for the
expected cost, and a project's NPV and IRR with and without it.

``value_floor(estimate("ndpr_oxide"), reference_terms("dod_mp"), posterior=posterior(
"ndpr_oxide"))`` values the DoD-MP Materials floor on MP's NdPr volumes; formulation and
estimator in ``docs/methods/pricefloor.md``.
"""

from critmin.analysis.pricefloor.closed_form import (
    black_scholes_put,
    closed_form_floor,
    expected_floor_payout,
)
from critmin.analysis.pricefloor.history import price_history, series
from critmin.analysis.pricefloor.process import (
    DUMPING_PRESETS,
    Dumping,
    PriceProcess,
    dumping_preset,
    estimate,
)
from critmin.analysis.pricefloor.reference import reference_case, reference_cases, reference_terms
from critmin.analysis.pricefloor.terms import FloorTerms
from critmin.analysis.pricefloor.uncertainty import ParameterPosterior, ar1_posterior, posterior
from critmin.analysis.pricefloor.valuation import (
    FloorValuation,
    Project,
    irr,
    value_floor,
)

__all__ = [
    "DUMPING_PRESETS",
    "Dumping",
    "FloorTerms",
    "FloorValuation",
    "ParameterPosterior",
    "PriceProcess",
    "Project",
    "ar1_posterior",
    "black_scholes_put",
    "closed_form_floor",
    "dumping_preset",
    "estimate",
    "expected_floor_payout",
    "irr",
    "posterior",
    "price_history",
    "reference_case",
    "reference_cases",
    "reference_terms",
    "series",
    "value_floor",
]
