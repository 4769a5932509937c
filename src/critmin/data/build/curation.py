"""Normalise the curated reference tables (``shared/reference/*.csv``) for embedding.

Every row is kept with its source columns (``source_url``, ``source_title``, ``note``,
``confidence``). The normaliser only adds columns: ISO3 codes for country columns, a
numeric ``value_num`` where the value is a plain number, ``year_num`` where the year is a
calendar year, and the critmin ``commodity`` id. The stage-share table is also mapped to
critmin stages (``catalog/stage_share_map.csv``) and joined with critmin's supplementary
rows (``catalog/supplementary_stage_shares.csv``), each marked with its origin.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from critmin.data.build.countries import names_to_iso3
from critmin.data.paths import CATALOG_DIR
from critmin.errors import DataError

#: reference file -> (columns holding country names, column naming the material)
REFERENCE_FILES: dict[str, tuple[tuple[str, ...], str | None]] = {
    "stage_shares": (("country",), "mineral"),
    "mine_production_ree": (("country",), None),
    "import_reliance": (("importer", "partner_country"), "mineral"),
    "demand_by_sector": (("scope",), "material"),
    "prices": ((), "commodity"),
    "japan_lng": (("counterparty",), None),
    "stockpiles": (("country",), "item"),
    "projects": (("country",), "product"),
    "export_controls": (("imposing_country", "target"), "materials"),
}
SOURCE_COLUMNS = ("source_url", "source_title", "note", "confidence")
_PLAIN_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_PLAIN_YEAR = re.compile(r"^(19|20)\d\d$")
_LEADING_COUNTRY = re.compile(r"^\s*([^(;,]+?)\s*(\(.*\))?\s*$")


def parse_number(text: pd.Series) -> pd.Series:
    """Plain numbers (thousands commas allowed) -> float; thresholds and ranges -> NaN."""
    cleaned = text.fillna("").astype(str).str.replace(",", "", regex=False).str.strip()
    return pd.to_numeric(cleaned.where(cleaned.str.match(_PLAIN_NUMBER)), errors="coerce")


def parse_year(text: pd.Series) -> pd.Series:
    cleaned = text.fillna("").astype(str).str.strip()
    return pd.to_numeric(cleaned.where(cleaned.str.match(_PLAIN_YEAR)), errors="coerce").astype(
        "Int64"
    )


def commodity_of(material: pd.Series) -> pd.Series:
    """The critmin commodity id named by a free-text material ("NdPr oxide" -> rare_earths)."""
    rules = pd.read_csv(CATALOG_DIR / "commodity_keywords.csv")
    result = pd.Series(pd.NA, index=material.index, dtype="string")
    text = material.fillna("").astype(str)
    for pattern, commodity in zip(rules["pattern"], rules["commodity"], strict=True):
        hit = text.str.contains(pattern, case=False, regex=True) & result.isna()
        result[hit] = commodity
    return result


def _country_column(names: pd.Series) -> pd.Series:
    """ISO3 for a country column; "United States (Texas)" and "China (re-exports)" too."""
    head = names.fillna("").astype(str).str.extract(_LEADING_COUNTRY)[0]
    direct = names_to_iso3(names)
    fallback = names_to_iso3(head.where(head != ""))
    return direct.fillna(fallback).astype("string")


def normalise_reference(name: str, table: pd.DataFrame) -> pd.DataFrame:
    """Add ISO3, numeric value, calendar year and commodity columns to a reference table."""
    country_columns, material_column = REFERENCE_FILES[name]
    missing = [c for c in ("value", "year", *SOURCE_COLUMNS) if c not in table.columns]
    if missing:
        raise DataError(f"reference table {name}: missing columns {missing}")
    out = table.copy()
    for column in country_columns:
        out[f"{column}_iso3"] = _country_column(out[column])
    out["value_num"] = parse_number(out["value"])
    out["year_num"] = parse_year(out["year"])
    if material_column is not None:
        out["commodity"] = commodity_of(out[material_column])
    return out


def read_reference(folder: Path, name: str) -> pd.DataFrame:
    path = folder / f"{name}.csv"
    if not path.is_file():
        raise DataError(
            f"reference: {path} not found (pass --reference to the shared/reference folder)"
        )
    return pd.read_csv(path, dtype=str, keep_default_na=False).replace({"": pd.NA})


def curated_stage_shares(reference: pd.DataFrame) -> pd.DataFrame:
    """Reference stage shares plus critmin's supplementary rows, mapped to critmin stages."""
    supplementary = pd.read_csv(
        CATALOG_DIR / "supplementary_stage_shares.csv", dtype=str, keep_default_na=False
    ).replace({"": pd.NA})
    table = pd.concat(
        [
            reference.assign(origin="shared/reference/stage_shares.csv"),
            supplementary.assign(origin="critmin/data/catalog/supplementary_stage_shares.csv"),
        ],
        ignore_index=True,
    )
    table = normalise_reference("stage_shares", table)
    mapping = pd.read_csv(CATALOG_DIR / "stage_share_map.csv", dtype=str)
    mapping["use_for_shares"] = mapping["use_for_shares"].str.lower().eq("true")
    merged = table.drop(columns=["commodity"]).merge(
        mapping.rename(columns={"critmin_stage": "stage_id", "reason": "map_reason"}),
        on=["mineral", "stage", "product"],
        how="left",
        validate="many_to_one",
    )
    merged["use_for_shares"] = merged["use_for_shares"].fillna(False).astype(bool)
    merged["share_pct_num"] = parse_number(merged["share_pct"])
    return merged
