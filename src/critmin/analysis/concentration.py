"""Concentration of supply: HHI, top-n shares, a group's share and the N-1 residual.

All functions take the long output table of :func:`critmin.analysis.panel.stage_output`
(one row per commodity, stage, year and country with a ``share`` in [0, 1]) and compute
every (commodity, stage, year) at once with grouped, vectorised operations.

* HHI = sum over countries of (100 * share)^2, on 0-10,000 (US DOJ/FTC convention). The
  unattributed remainder ``ROW`` is left out of the sum (its producers are unknown and many;
  counting it as one country would overstate concentration).
* top-n share = sum of the n largest country shares (``ROW`` excluded).
* N-1 residual = 1 - top-1 share: the fraction of world output left if the largest
  supplier stops.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from critmin.analysis.panel import members_output
from critmin.data.commodities import STAGE_ORDER

KEYS = ["commodity", "stage", "year"]
UNATTRIBUTED = "ROW"


def _joined(values: pd.Series) -> str:
    return ", ".join(sorted({str(v) for v in values if isinstance(v, str) and v}))


def concentration(
    output: pd.DataFrame, groups: Mapping[str, Sequence[str]] | None = None
) -> pd.DataFrame:
    """HHI, top-1 and top-3 shares, N-1 residual and group shares per commodity, stage, year.

    ``groups`` maps a label (``"CHN"``, ``"US-JP"``) to member ISO3 codes; each becomes a
    column ``share_<label>`` (fraction of world output). Columns: commodity, stage, year,
    hhi (0-10,000), top1_country, top1_share, top3_countries, top3_share,
    n_minus_1_residual, countries (number with output), world (stage unit, NaN if unknown),
    unit, figure_year, grades and sources (of the figures used: grades of
    ``critmin.network.schema.GRADES``, source ids of ``critmin data sources``), plus the group
    columns and ``note``. A group share counts the members' known output
    (a lower bound where some member is not named by the source, NaN where none is known);
    ``note`` says which.
    """
    named = output[output["country"] != UNATTRIBUTED]
    named = named[named["share"] > 0]
    ranked = named.sort_values(
        [*KEYS, "share", "country"], ascending=[True, True, True, False, True]
    )
    ranked = ranked.assign(rank=ranked.groupby(KEYS).cumcount())
    by_case = ranked.groupby(KEYS)
    top = ranked[ranked["rank"] < 3]
    top_groups = top.groupby(KEYS)
    result = pd.DataFrame(
        {
            "hhi": (ranked.assign(sq=(100.0 * ranked["share"]) ** 2).groupby(KEYS)["sq"].sum()),
            "top1_country": top[top["rank"] == 0].set_index(KEYS)["country"],
            "top1_share": top[top["rank"] == 0].set_index(KEYS)["share"],
            "top3_countries": top_groups["country"].agg(" ".join),
            "top3_share": top_groups["share"].sum(),
            "countries": by_case["country"].count(),
        }
    )
    result["n_minus_1_residual"] = 1.0 - result["top1_share"]
    by_all = output.groupby(KEYS)
    totals = pd.DataFrame(
        {
            "world": by_all["world"].first(),
            "unit": by_all["unit"].first(),
            "figure_year": by_all["figure_year"].max(),
            "grades": by_all["grade"].agg(_joined),
            "sources": by_all["source"].agg(_joined),
        }
    )
    result = result.join(totals)
    notes = pd.Series("", index=result.index)
    for label, members in (groups or {}).items():
        inside = members_output(output, members, "share").set_index(KEYS)
        share = inside["share"]
        result[f"share_{label}"] = share.reindex(result.index)
        note = inside["note"].reindex(result.index).fillna("")
        notes = notes.str.cat(note.where(note == "", f"share_{label}: " + note), sep="; ")
    result["note"] = notes.str.strip("; ")
    result = result.reset_index()
    order = result["stage"].map({s: i for i, s in enumerate(STAGE_ORDER)})
    return (
        result.assign(_order=order)
        .sort_values(["commodity", "_order", "year"])
        .drop(columns="_order")
        .reset_index(drop=True)
    )
