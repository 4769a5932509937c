"""``python -m critmin`` runs the command line."""

from critmin.cli.app import main

main()
