"""Shared fixtures: networks are loaded once per session (loading is read-only)."""

from __future__ import annotations

import pytest

import critmin
from critmin.network.supply_network import SupplyNetwork

ISSUE_COMMODITIES = (
    "rare_earths",
    "lithium",
    "cobalt",
    "nickel",
    "graphite",
    "gallium",
    "germanium",
    "tungsten",
    "antimony",
    "natural_gas",
)


@pytest.fixture(scope="session")
def ree_2024() -> SupplyNetwork:
    return critmin.load_network("rare_earths", year=2024, alliance="US-JP")
