"""Optimisation models: the allies' stockpile (``critmin.optimisation.stockpile``)."""
