"""The ``critmin`` command line (Typer + Rich)."""
