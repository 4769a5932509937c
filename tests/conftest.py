"""Shared fixtures: networks are loaded once per session (loading is read-only)."""

from __future__ import annotations

import pytest

import critmin
from critmin.data.commodities import KEY_COMMODITIES as ISSUE_COMMODITIES
from critmin.network.supply_network import SupplyNetwork

__all__ = ["ISSUE_COMMODITIES"]


@pytest.fixture(scope="session")
def ree_2024() -> SupplyNetwork:
    return critmin.load_network("rare_earths", year=2024, alliance="US-JP")


pytest_plugins = ["tests.service_support"]
