"""The rare-earth chain at element grain (NdPr, Dy, Tb, La, Ce) with two-price markets."""

from critmin.simulation.elements.chain import Base, calibrate
from critmin.simulation.elements.model import ElementResult, Shocks, simulate_elements

__all__ = ["Base", "ElementResult", "Shocks", "calibrate", "simulate_elements"]
