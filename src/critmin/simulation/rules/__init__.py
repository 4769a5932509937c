"""Export-control rules as governments write them, and their compiler to model shocks."""

from critmin.simulation.rules.compiler import Compiled, compile_rules, to_events
from critmin.simulation.rules.schema import RuleFile, load_rules, parse_rules, shipped_rules

__all__ = [
    "Compiled",
    "RuleFile",
    "compile_rules",
    "load_rules",
    "parse_rules",
    "shipped_rules",
    "to_events",
]
