"""Country codes the embedded data know, read from the embedded country table."""

from __future__ import annotations

from functools import cache

from critmin.data import tables


@cache
def known_codes() -> frozenset[str]:
    """ISO3 (current and historic) and the few documented non-ISO codes of the sources."""
    return frozenset(tables.countries()["code"].astype(str))


def country_names() -> dict[str, str]:
    table = tables.countries()
    return dict(zip(table["code"].astype(str), table["name"].astype(str), strict=True))
