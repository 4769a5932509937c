"""Loaders for the embedded tables, each read once per process and cached.

Every function returns a pandas DataFrame in long form with the columns documented in
``docs/data.md``. Callers must not mutate the returned frames (they are shared); use
``.copy()`` before editing.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from critmin.data.paths import EMBEDDED_DIR, MANIFEST_NAME
from critmin.errors import DataError

CURATED_TABLES = (
    "stage_shares",
    "mine_production_ree",
    "import_reliance",
    "demand_by_sector",
    "prices",
    "japan_lng",
    "stockpiles",
    "projects",
    "export_controls",
)


#: the chain tables written by ``critmin data build`` from ``catalog/chains`` (see docs/data.md)
CHAIN_TABLES = ("figures", "recipes", "flows", "sectors", "sources")
_NUMERIC: dict[str, type] = {"value": float, "year": int, "month": int}


@cache
def manifest() -> dict[str, Any]:
    """The provenance manifest written by ``critmin data build``."""
    path = EMBEDDED_DIR / MANIFEST_NAME
    if not path.is_file():
        raise DataError(f"embedded data: {path} is missing; run `critmin data build`")
    result: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return result


def _parquet(name: str, filters: list[tuple[str, str, Any]] | None = None) -> pd.DataFrame:
    path = EMBEDDED_DIR / f"{name}.parquet"
    if not path.is_file():
        raise DataError(f"embedded data: {path.name} is missing; run `critmin data build`")
    try:
        frame: pd.DataFrame = pq.read_table(path, filters=filters).to_pandas()
    except Exception as exc:  # pyarrow raises several types for damaged files
        raise DataError(f"embedded data: {path.name} cannot be read ({exc})") from exc
    return frame


@cache
def production() -> pd.DataFrame:
    """WMD production: commodity, stage, country, year, value, unit, status (r/e/p)."""
    return _parquet("production")


@cache
def trade_year(year: int) -> pd.DataFrame:
    """BACI flows of one year: exporter, importer, hs, value_kusd, quantity_t."""
    return _parquet("trade", filters=[("year", "=", year)])


@cache
def trade() -> pd.DataFrame:
    """All BACI flows (1.3 million rows, about 60 MB; cached: do not modify in place)."""
    return _parquet("trade")


@cache
def trade_years() -> tuple[int, ...]:
    column = pq.read_table(EMBEDDED_DIR / "trade.parquet", columns=["year"]).column("year")
    return tuple(sorted({int(v) for v in column.unique().to_pylist()}))


@cache
def governance() -> pd.DataFrame:
    """WGI political stability: country, year, estimate, std_error, percentile_rank, normalized."""
    return _parquet("governance")


@cache
def countries() -> pd.DataFrame:
    """Known country codes: code, name, kind (iso/historic/aggregate/...), baci_code."""
    return _parquet("countries")


@cache
def hs_codes() -> pd.DataFrame:
    """HS codes with description, critmin commodity and stage."""
    return _parquet("hs_codes")


@cache
def commodities() -> pd.DataFrame:
    """Commodity table with geopolrisk's HS codes and EoL-RIR."""
    return _parquet("commodities")


@cache
def curated(name: str) -> pd.DataFrame:
    """One curated reference table by name (see :data:`CURATED_TABLES`)."""
    if name not in CURATED_TABLES:
        raise DataError(
            f"curated table {name!r} does not exist; valid: {', '.join(CURATED_TABLES)}"
        )
    path = EMBEDDED_DIR / "curated" / f"{name}.csv"
    if not path.is_file():
        raise DataError(f"embedded data: curated/{path.name} is missing; run `critmin data build`")
    return pd.read_csv(path, low_memory=False)


def read_chain_table(path: Path) -> pd.DataFrame:
    """One chain table file: text stays text (``""`` is empty, never NaN), value/year/month
    are numbers (an empty value is NaN: unknown)."""
    text = pd.read_csv(path, dtype=str, keep_default_na=False)
    for column, dtype in _NUMERIC.items():
        if column in text.columns and path.stem != "sources":
            text[column] = pd.to_numeric(text[column].replace("", None)).astype(dtype)
    return text


@cache
def _chain(name: str) -> pd.DataFrame:
    path = EMBEDDED_DIR / "chains" / f"{name}.csv"
    if not path.is_file():
        raise DataError(f"embedded data: chains/{path.name} is missing; run `critmin data build`")
    return read_chain_table(path)


def figures() -> pd.DataFrame:
    """Curated stage figures, one fact per row (the long table of the network schema).

    Columns: commodity, stage, country (ISO3, ``WLD`` world total, ``ROW`` remainder),
    variable (production / capacity / consumption in t of the stage unit per year; price in
    USD per stage unit), year, value (NaN = unknown, the reason in ``note``), unit,
    source_id (a key of :func:`figure_sources`), grade (primary / secondary / assumption /
    derived; ``""`` when the value is NaN), note.
    """
    return _chain("figures")


def recipes() -> pd.DataFrame:
    """Inputs of multi-input stages: commodity, stage, in_commodity, in_stage, year, value
    (input stage unit per output stage unit), unit, source_id, grade, note."""
    return _chain("recipes")


def flows() -> pd.DataFrame:
    """Cited bilateral flows where BACI has none: commodity, stage, exporter, importer,
    variable (trade_quantity in the stage unit, trade_value in USD), year, month (0 = the
    whole year), value, unit, source_id, grade, note."""
    return _chain("flows")


def sectors() -> pd.DataFrame:
    """End-use splits: commodity, stage, country (``WLD`` = global), sector, year, value
    (share 0-1), unit, source_id, grade, note."""
    return _chain("sectors")


def figure_sources() -> pd.DataFrame:
    """The sources of the chain tables: source_id, publisher, title, year, url, licence,
    accessed."""
    return _chain("sources")


def clear_caches() -> None:
    """Forget cached tables (tests that swap the embedded folder call this)."""
    for loader in (
        manifest,
        production,
        trade,
        trade_year,
        trade_years,
        governance,
        countries,
        hs_codes,
        commodities,
        curated,
        _chain,
    ):
        loader.cache_clear()
