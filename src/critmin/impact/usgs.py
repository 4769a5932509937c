"""Side by side with the anchor: critmin's sweep against USGS's 2025 assessment.

``data/usgs_2025.yaml`` holds what could be read from cited pages: the range of the USGS
results, the ten commodities with the largest probability-weighted losses in order, the six
above 1 billion USD, and the 2024 gallium/germanium scenario figures of the same model.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from critmin.config_files import read_yaml
from critmin.errors import DataError
from critmin.impact.io_tables import DATA_DIR

USGS_FILE = DATA_DIR / "usgs_2025.yaml"


@cache
def usgs_anchor() -> dict[str, Any]:
    """The USGS figures critmin compares with (see the module docstring)."""
    raw = read_yaml(USGS_FILE, "USGS anchor file")
    if not isinstance(raw, dict):
        raise DataError(f"{USGS_FILE.name}: expected a mapping")
    for key in ("report", "range", "ranking", "over_1bn", "scenario_2024", "critmin_to_usgs"):
        if key not in raw:
            raise DataError(f"{USGS_FILE.name}: {key} is missing")
    return raw


def usgs_rank(commodity: str) -> int | None:
    """Best USGS rank (1 = largest loss) among the USGS commodities ``commodity`` stands for;
    None when none of them is in the published top ten."""
    anchor = usgs_anchor()
    top = anchor["ranking"]["top"]
    names = anchor["critmin_to_usgs"].get(commodity, [])
    ranks = [top.index(n) + 1 for n in names if n in top]
    return min(ranks) if ranks else None


def comparison(ranking: pd.DataFrame, country: str = "USA") -> pd.DataFrame:
    """critmin's probability-weighted GDP change per commodity beside the USGS rank and
    bounds, for the commodities both cover (``ranking``: :meth:`SweepResult.ranking`)."""
    anchor = usgs_anchor()
    ours = ranking[ranking["country"] == country]
    over = set(anchor["over_1bn"]["commodities"])
    scenario = {row["commodity"]: row for row in anchor["scenario_2024"]["rows"]}
    rows = []
    for record in ours.itertuples(index=False):
        names = anchor["critmin_to_usgs"].get(record.commodity)
        if not names:
            continue
        rank = usgs_rank(str(record.commodity))
        loss_over_1bn = any(n in over for n in names)
        rows.append(
            {
                "commodity": record.commodity,
                "usgs_commodities": ", ".join(names),
                "usgs_rank": rank,
                "usgs_loss_over_1bn": loss_over_1bn,
                "usgs_bound_usd": "< -1e9"
                if loss_over_1bn
                else (">= -1e9" if rank is not None else "not in top ten"),
                "critmin_expected_gdp_change_usd": record.expected_gdp_change_usd,
                "critmin_worst_scenario": record.worst_scenario,
                "critmin_worst_gdp_change_usd": record.worst_gdp_change_usd,
                "usgs_2024_china_full_usd": scenario.get(record.commodity, {}).get(
                    "gdp_change_usd", np.nan
                ),
            }
        )
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    frame["critmin_rank"] = (
        frame["critmin_expected_gdp_change_usd"].rank(method="average").to_numpy()
    )
    return frame


def rank_correlation(frame: pd.DataFrame) -> tuple[float, int]:
    """Spearman's rank correlation between critmin's and USGS's order of losses over the
    commodities with a USGS rank, and how many there are (NaN below 3)."""
    known = frame.dropna(subset=["usgs_rank"]) if not frame.empty else frame
    n = len(known)
    if n < 3:
        return float("nan"), n
    rho = spearmanr(known["critmin_rank"], known["usgs_rank"]).statistic
    return float(rho), n
