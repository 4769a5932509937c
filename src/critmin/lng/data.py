"""Japan's LNG data: BACI imports by source (HS 271111), contracts, routes, model parameters.

Units: tonnes of LNG (t), current USD, USD per t for unit values, days for voyages. The
curated tables (``data/*.csv``) carry a source URL and title on every row, or say
``assumption``; see ``docs/methods/lng.md``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from critmin.data import tables
from critmin.errors import InputError

HS_LNG = 271111
COMMODITY = "natural_gas"
STAGE = "liquefaction"
"""LNG in the embedded catalogue: the ``liquefaction`` stage of ``natural_gas``."""
DATA_DIR = Path(__file__).with_name("data")
DAYS_PER_MONTH = 365.25 / 12.0


def check_year(year: int) -> int:
    """``year`` if BACI has it, else an :class:`InputError` naming the valid range."""
    years = tables.trade_years()
    if year not in years:
        raise InputError(f"year {year} is not available: BACI trade covers {years[0]}-{years[-1]}")
    return year


@cache
def lng_trade(year: int) -> pd.DataFrame:
    """BACI LNG flows of ``year``: exporter, importer, value_usd, quantity_t.

    Flows without a quantity (13 of 668 in 2024, 0.13 % of the value) and a country's flows
    to itself are dropped."""
    check_year(year)
    t = tables.trade_year(year)
    t = t[t["hs"] == HS_LNG]
    out = pd.DataFrame(
        {
            "exporter": t["exporter"].astype(str).to_numpy(),
            "importer": t["importer"].astype(str).to_numpy(),
            "value_usd": t["value_kusd"].to_numpy() * 1000.0,
            "quantity_t": t["quantity_t"].to_numpy(),
        }
    )
    out = out[(out["exporter"] != out["importer"]) & out["quantity_t"].notna()]
    return out.sort_values(["exporter", "importer"]).reset_index(drop=True)


def imports_by_source(
    importer: str = "JPN", years: range | list[int] | None = None
) -> pd.DataFrame:
    """LNG imports of ``importer`` by source and year (BACI, HS 271111).

    Columns: year, source, quantity_t, value_usd, unit_value_usd_per_t, share (of the year's
    tonnes, 0-1). Largest source first within each year.
    """
    chosen = list(years) if years is not None else list(range(2018, tables.trade_years()[-1] + 1))
    frames = []
    for year in chosen:
        t = lng_trade(year)
        t = t[t["importer"] == importer]
        g = t.groupby("exporter", as_index=False)[["quantity_t", "value_usd"]].sum()
        g = g[g["quantity_t"] > 0].rename(columns={"exporter": "source"})
        g.insert(0, "year", year)
        g["unit_value_usd_per_t"] = g["value_usd"] / g["quantity_t"]
        g["share"] = g["quantity_t"] / g["quantity_t"].sum()
        frames.append(g.sort_values("quantity_t", ascending=False))
    if not frames or all(f.empty for f in frames):
        raise InputError(f"importer {importer!r}: no LNG imports in BACI for {chosen}")
    return pd.concat(frames, ignore_index=True)


@cache
def mof_2024() -> pd.DataFrame:
    """Japan's 2024 LNG imports by origin from the Ministry of Finance (preliminary, as
    reported by Reuters): source (ISO3, ``WLD`` = total), quantity_mt, share, source columns.
    Only the origins the report names; used to check BACI."""
    return pd.read_csv(DATA_DIR / "mof_2024.csv")


@cache
def contracts() -> pd.DataFrame:
    """Japanese buyers' LNG contracts: buyer, seller (ISO3), project, volume_mtpa (Mt per
    year), start, end (calendar years, empty = not found), status, us_2030 (part of the JERA
    5.5 + Tokyo Gas 1 Mtpa set from about 2030), source_url, source_title, note."""
    frame = pd.read_csv(DATA_DIR / "contracts.csv", dtype={"start": "Int64", "end": "Int64"})
    frame["us_2030"] = frame["us_2030"].astype(bool)
    return frame


def _freight(days: float, canal: str, p: dict[str, float]) -> float:
    """Charter cost per t: day rate x (round trip + 3 days in port) / cargo, plus canal toll."""
    toll = p["panama_toll_usd"] if canal == "Panama" else 0.0
    return (p["charter_usd_per_day"] * (2.0 * days + 3.0) + toll) / p["cargo_t"]


@cache
def routes() -> pd.DataFrame:
    """Voyages to Japan by origin: one_way_days, distance_nm, canal, basis (source,
    distance_speed or assumption), freight_usd_per_t (charter and canal only, see
    ``parameters.yaml``), source columns."""
    frame = pd.read_csv(DATA_DIR / "routes.csv", keep_default_na=False)
    frame["distance_nm"] = pd.to_numeric(frame["distance_nm"], errors="coerce")
    p = {k: v["value"] for k, v in parameters().items()}
    frame["freight_usd_per_t"] = [
        _freight(d, c, p) for d, c in zip(frame["one_way_days"], frame["canal"], strict=True)
    ]
    return frame


def voyage_days(origin: str) -> float:
    """One-way days from ``origin`` (ISO3 or a route id such as ``USA-AK``) to Japan; other
    origins take the ``ROW`` assumption."""
    r = routes().set_index("origin")["one_way_days"]
    return float(r[origin]) if origin in r.index else float(r["ROW"])


@cache
def parameters() -> dict[str, dict[str, Any]]:
    """Defaults of the LNG model: name -> {value, unit, basis}."""
    raw: dict[str, dict[str, Any]] = yaml.safe_load(
        (DATA_DIR / "parameters.yaml").read_text(encoding="utf-8")
    )
    return raw


def parameter_frame() -> pd.DataFrame:
    """The defaults as a table: name, value, unit, basis."""
    return pd.DataFrame(
        [
            {"name": k, "value": v["value"], "unit": v["unit"], "basis": v["basis"]}
            for k, v in parameters().items()
        ]
    )
