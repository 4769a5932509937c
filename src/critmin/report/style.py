"""One look for every chart: colours and fill patterns per country, group and stage.

Patterns and direct labels carry the meaning as well as the colours, so the charts read in
greyscale and for colour-blind readers (the palette is Okabe-Ito).
"""

from __future__ import annotations

COLOURS = {
    "CHN": "#D55E00",  # vermillion
    "USA": "#0072B2",  # blue
    "JPN": "#CC79A7",  # reddish purple
    "AUS": "#E69F00",  # orange
    "alliance": "#009E73",  # bluish green
    "others": "#999999",  # grey
}
PATTERNS = {"CHN": "/", "alliance": ".", "others": "", "USA": "x", "JPN": "+", "AUS": "-"}
STAGE_COLOURS = {
    "mining": "#56B4E9",
    "separation": "#009E73",
    "refining": "#0072B2",
    "liquefaction": "#F0E442",
    "metal": "#E69F00",
    "magnet": "#D55E00",
}
FONT = "Helvetica, Arial, sans-serif"


def colour(key: str) -> str:
    """Colour of a country, ``alliance`` or ``others`` (grey for anything unknown)."""
    return COLOURS.get(key, COLOURS["others"])


def pattern(key: str) -> str:
    return PATTERNS.get(key, "")
