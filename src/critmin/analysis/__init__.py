"""Criticality metrics: concentration, dependence, GeoPolRisk, supply risk and gaps.

Every function takes or builds long pandas tables and computes all cases at once.
"""

from critmin.analysis.concentration import concentration
from critmin.analysis.dependence import import_reliance, supplier_concentration, supplier_mix
from critmin.analysis.gaps import gap_analysis
from critmin.analysis.geopolrisk import geopolrisk
from critmin.analysis.panel import stage_output, stage_trade
from critmin.analysis.supply_risk import supply_risk
from critmin.analysis.sweep import sweep

__all__ = [
    "concentration",
    "gap_analysis",
    "geopolrisk",
    "import_reliance",
    "stage_output",
    "stage_trade",
    "supplier_concentration",
    "supplier_mix",
    "supply_risk",
    "sweep",
]
