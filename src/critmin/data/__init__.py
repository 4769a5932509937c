"""Embedded reference data: the tables, their provenance and their validation.

The tables live in ``critmin/data/embedded`` and are written by ``critmin data build``
(see :mod:`critmin.data.build`). Loaders in :mod:`critmin.data.tables` read them lazily and
cache them for the life of the process.
"""
