"""Japan's LNG security with the minerals engine: BACI imports by source, contracts, voyages,
storage, and a monthly clearing with shipping time as delivery lag.

``supplier_shares(2024)`` gives Japan's suppliers (BACI, HS 271111); ``lng_network(2024)`` LNG
as a :class:`SupplyNetwork`; ``compare_us_volumes(load_lng_scenario(path))`` runs a scenario
without and with the 2030 US volumes. See ``docs/methods/lng.md``.
"""

from __future__ import annotations

from critmin.lng.api import (
    LngComparison,
    compare_us_volumes,
    shifted,
    simulate_lng,
    with_us_volumes,
    without_us_volumes,
)
from critmin.lng.data import contracts, imports_by_source, parameter_frame, routes
from critmin.lng.network import hhi, lng_network, supplier_shares
from critmin.lng.results import LngResult
from critmin.lng.scenario import LngScenario, load_lng_scenario, parse_lng_scenario

__all__ = [
    "LngComparison",
    "LngResult",
    "LngScenario",
    "compare_us_volumes",
    "contracts",
    "hhi",
    "imports_by_source",
    "lng_network",
    "load_lng_scenario",
    "parameter_frame",
    "parse_lng_scenario",
    "routes",
    "shifted",
    "simulate_lng",
    "supplier_shares",
    "with_us_volumes",
    "without_us_volumes",
]
