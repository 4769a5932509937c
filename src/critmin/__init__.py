"""critmin: critical-minerals supply security for allies.

Importing critmin does nothing but define names: no files are read, no logging is set up,
nothing touches the network, and the heavy modules (xarray, the data loaders) are imported
only when one of their names is first used.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from critmin.errors import CritminError, DataError, InfeasibleError, InputError, ScenarioError

if TYPE_CHECKING:
    from critmin.network.build import load_network
    from critmin.network.supply_network import SupplyNetwork

__version__ = "0.1.0"

_LAZY = {
    "load_network": "critmin.network.build",
    "SupplyNetwork": "critmin.network.supply_network",
}

__all__ = [
    "CritminError",
    "DataError",
    "InfeasibleError",
    "InputError",
    "ScenarioError",
    "SupplyNetwork",
    "__version__",
    "load_network",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'critmin' has no attribute {name!r}")
