"""Build the curated chain tables (``catalog/chains/``) into tidy embedded tables.

Inputs, one fact per row, each with a ``source_id`` of ``chains/sources.csv`` and a grade:

* ``figures/<chain>.csv``: production, capacity, consumption and price by commodity, stage,
  country and year, in any unit that converts to the stage unit (``kt REO``, ``t Li``,
  ``USD/kg`` ...) or as ``%`` of the world row (``WLD``) of the same stage, variable and year;
* ``recipes.csv``: inputs of multi-input stages (t of an input stage per t of output);
* ``flows.csv``: cited cross-border flows (customs figures quoted by the press) where the
  bundled BACI extract has none;
* ``sectors.csv``: end-use splits, global (``WLD``) or of one country's use;
* ``conversions.csv``: content conversions (``t Li`` -> ``t LCE``) with their basis.

The build converts every figure to its stage unit, turns shares into tonnes (grade
``derived``), and adds ``ROW`` = world minus the named countries (grade ``derived``) wherever a
world total is given. An unknown figure stays NaN with its reason in ``note``, never 0.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from critmin.data.build.countries import is_known_code
from critmin.data.build.units import Converter, money_factor
from critmin.data.commodities import catalog
from critmin.data.paths import CATALOG_DIR
from critmin.errors import DataError

CHAINS_DIR = CATALOG_DIR / "chains"
GRADES = ("primary", "secondary", "assumption", "derived")
QUANTITY_VARIABLES = ("production", "capacity", "consumption")
VARIABLES = (*QUANTITY_VARIABLES, "price")
FLOW_VARIABLES = ("trade_quantity", "trade_value")
PSEUDO = ("WLD", "ROW")
#: named countries may exceed a world total by this fraction (sources round and differ)
WORLD_EXCESS = 0.02
#: end-use shares of one split may sum to this much over 1 (rounded source shares)
SPLIT_ROUNDING = 0.005

#: every fact row ends with these columns (after its dimensions)
_FACT = ("value", "unit", "source_id", "grade", "note")
FIGURE_COLUMNS = ("commodity", "stage", "country", "variable", "year", *_FACT)
SOURCE_COLUMNS = ("source_id", "publisher", "title", "year", "url", "licence", "accessed")
CONVERSION_COLUMNS = ("commodity", "from_unit", "to_unit", "factor", "source_id", "grade", "note")
RECIPE_COLUMNS = ("commodity", "stage", "in_commodity", "in_stage", "year", *_FACT)
FLOW_COLUMNS = (
    "commodity",
    "stage",
    "exporter",
    "importer",
    "variable",
    "year",
    "month",
    *_FACT,
)
SECTOR_COLUMNS = ("commodity", "stage", "country", "sector", "year", *_FACT)
BACI_PRICE_COLUMNS = ("commodity", "stage", "hs", "stage_units_per_t", "grade", "note")
#: years for which BACI unit values become stage prices
BACI_PRICE_YEARS = (2020, 2021, 2022, 2023, 2024)


def _read(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    """A curated CSV with exactly ``columns``; each row remembers its file and line."""
    if not path.is_file():
        raise DataError(f"chains: {path} is missing")
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    if tuple(table.columns) != columns:
        raise DataError(f"{path.name}: columns {list(table.columns)}; expected {list(columns)}")
    for column in table.columns:
        table[column] = table[column].str.strip()
    table["origin"] = [f"{path.name}:{i + 2}" for i in range(len(table))]
    return table


def _fail(row: pd.Series, field: str, reason: str) -> DataError:
    return DataError(f"{row['origin']}: {field} = {row[field]!r}: {reason}")


def read_sources(folder: Path = CHAINS_DIR) -> pd.DataFrame:
    """The sources catalogue: one row per source_id, each with publisher, URL and licence."""
    table = _read(folder / "sources.csv", SOURCE_COLUMNS)
    for _, row in table.iterrows():
        for field in ("source_id", "publisher", "title", "year", "licence", "accessed"):
            if not row[field]:
                raise _fail(row, field, "is required")
        if (
            not row["source_id"].replace("_", "").isalnum()
            or row["source_id"].lower() != row["source_id"]
        ):
            raise _fail(row, "source_id", "use lower-case letters, digits and _")
    dupes = table.loc[table["source_id"].duplicated(), "source_id"]
    if not dupes.empty:
        raise DataError(f"sources.csv: source_id {dupes.iloc[0]!r} appears twice")
    return table.drop(columns="origin").sort_values("source_id", ignore_index=True)


def _stage_unit(
    row: pd.Series, commodity_field: str = "commodity", stage_field: str = "stage"
) -> str:
    """The unit of the row's stage; errors name the row when the stage is not in the chain."""
    items = catalog()
    if row[commodity_field] not in items:
        raise _fail(row, commodity_field, "not a commodity of catalog/commodities.yaml")
    stages = {s.id: s.unit for s in items[row[commodity_field]].stages}
    if row[stage_field] not in stages:
        raise _fail(row, stage_field, f"not a stage of {row[commodity_field]}: {sorted(stages)}")
    return stages[row[stage_field]]


def _check_common(row: pd.Series, sources: set[str]) -> None:
    """Year, grade, source and value of one row (value may be empty: unknown, with a note)."""
    if not row["year"].isdigit() or not 1990 <= int(row["year"]) <= 2035:
        raise _fail(row, "year", "must be a calendar year")
    if row["value"] == "":
        if row["grade"]:
            raise _fail(row, "grade", "an unknown value (empty) has no grade")
        if not row["note"]:
            raise _fail(row, "note", "an unknown value needs the reason in note")
        if row["source_id"] and row["source_id"] not in sources:
            raise _fail(row, "source_id", "not in chains/sources.csv")
        return
    try:
        value = float(row["value"])
    except ValueError:
        raise _fail(row, "value", "must be a number (or empty when unknown)") from None
    if not np.isfinite(value) or value < 0:
        raise _fail(row, "value", "must be finite and >= 0")
    if row["grade"] not in GRADES:
        raise _fail(row, "grade", f"must be one of {', '.join(GRADES)}")
    if row["source_id"] not in sources:
        raise _fail(row, "source_id", "not in chains/sources.csv")
    if row["grade"] == "derived" and not row["note"]:
        raise _fail(row, "note", "a derived value needs its method in note")


def _country(row: pd.Series, field: str) -> None:
    code = row[field]
    if code not in PSEUDO and not (len(code) == 3 and code.isupper() and is_known_code(code)):
        raise _fail(row, field, "not an ISO 3166 alpha-3 code (or WLD/ROW)")


def converters(folder: Path = CHAINS_DIR, sources: set[str] | None = None) -> dict[str, Converter]:
    """One :class:`Converter` per commodity from ``conversions.csv``."""
    table = _read(folder / "conversions.csv", CONVERSION_COLUMNS)
    factors: dict[str, dict[tuple[str, str], float]] = {c: {} for c in catalog()}
    for _, row in table.iterrows():
        if row["commodity"] not in factors:
            raise _fail(row, "commodity", "not a commodity of catalog/commodities.yaml")
        if sources is not None and row["source_id"] not in sources:
            raise _fail(row, "source_id", "not in chains/sources.csv")
        if row["grade"] not in GRADES:
            raise _fail(row, "grade", f"must be one of {', '.join(GRADES)}")
        try:
            factor = float(row["factor"])
        except ValueError:
            raise _fail(row, "factor", "must be a number") from None
        key, base = Converter.base_factor(row["from_unit"], row["to_unit"], factor)
        factors[row["commodity"]][key] = base
        factors[row["commodity"]][(key[1], key[0])] = 1.0 / base
    return {c: Converter(c, f) for c, f in factors.items()}


def _known(folder: Path, sources: set[str] | None) -> set[str]:
    return sources if sources is not None else set(read_sources(folder)["source_id"])


def _unique(table: pd.DataFrame, keys: list[str], field: str, what: str) -> None:
    """One row per key: else an error naming the first repeated row."""
    repeated = table[table.duplicated(keys)]
    if not repeated.empty:
        raise _fail(repeated.iloc[0], field, f"{what} is given twice")


def _join_note(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


def _convert_figures(table: pd.DataFrame, convert: dict[str, Converter]) -> pd.DataFrame:
    """Absolute figures in their stage unit; shares (``%``) left for :func:`_shares`."""
    values, units, notes = [], [], []
    for _, row in table.iterrows():
        stage_unit, unit, note = row["stage_unit"], row["unit"], row["note"]
        value = float(row["value"]) if row["value"] else float("nan")
        if unit == "%":
            values.append(value)
            units.append("%")
            notes.append(note)
            continue
        converter = convert[row["commodity"]]
        is_price = row["variable"] == "price"
        target = f"USD/{stage_unit}" if is_price else stage_unit
        try:
            if unit == target:
                factor = 1.0
            elif is_price:
                factor = converter.price_factor(unit, stage_unit)
            else:
                factor = converter.quantity_factor(unit, stage_unit)
        except DataError as exc:
            raise DataError(f"{row['origin']}: {exc}") from None
        values.append(value * factor)
        units.append(target)
        if unit != target and row["value"]:
            note = _join_note(note, f"given as {row['value']} {unit}")
        notes.append(note)
    return table.assign(value=values, unit=units, note=notes)


def _shares(table: pd.DataFrame) -> pd.DataFrame:
    """Rows given as % of the world row become tonnes (grade derived)."""
    keys = ["commodity", "stage", "variable", "year"]
    world = table[(table["country"] == "WLD") & (table["unit"] != "%")].set_index(keys)
    out = table.copy()
    for index, row in table[table["unit"] == "%"].iterrows():
        if row["variable"] not in QUANTITY_VARIABLES:
            raise _fail(row, "unit", f"a share (%) is only allowed for {QUANTITY_VARIABLES}")
        if row["country"] in PSEUDO:
            raise _fail(row, "country", "a share (%) must belong to a named country")
        key = tuple(row[k] for k in keys)
        if key not in world.index:
            raise _fail(row, "unit", "a share (%) needs a WLD row of its stage, variable and year")
        base = world.loc[key]
        total = float(base["value"])
        out.loc[index, "unit"] = base["unit"]
        if np.isnan(row["value"]) or np.isnan(total):
            out.loc[index, "value"] = np.nan
            out.loc[index, "grade"] = ""
            if not np.isnan(row["value"]):
                out.loc[index, "note"] = _join_note(
                    row["note"], f"share {row['value']:g} % known; world volume unknown"
                )
            continue
        out.loc[index, "value"] = row["value"] / 100.0 * total
        world_text = f"world {total:g} {base['unit']} ({base['source_id']})"
        out.loc[index, "note"] = _join_note(
            row["note"], f"{row['value']:g} % ({row['grade']}) of {world_text}"
        )
        out.loc[index, "grade"] = "derived"
    return out


def _rest_of_world(table: pd.DataFrame) -> pd.DataFrame:
    """ROW = WLD minus the named countries, for each quantity with a world total."""
    keys = ["commodity", "stage", "variable", "year"]
    rows = []
    quantities = table[table["variable"].isin(QUANTITY_VARIABLES)]
    for key, group in quantities.groupby(keys, sort=True):
        world = group[(group["country"] == "WLD") & group["value"].notna()]
        if world.empty or (group["country"] == "ROW").any():
            continue
        total = float(world["value"].iloc[0])
        named = group[~group["country"].isin(PSEUDO)]
        attributed = float(named["value"].sum())
        if attributed > total * (1.0 + WORLD_EXCESS):
            raise DataError(
                f"chains: {'/'.join(map(str, key))}: named countries sum to {attributed:g}, "
                f"more than the world total {total:g} ({world['source_id'].iloc[0]})"
            )
        rows.append(
            {
                **dict(zip(keys, key, strict=True)),
                "country": "ROW",
                "value": max(0.0, total - attributed),
                "unit": world["unit"].iloc[0],
                "source_id": world["source_id"].iloc[0],
                "grade": "derived",
                "note": f"world {total:g} ({world['source_id'].iloc[0]}) minus the named "
                f"countries ({', '.join(sorted(named['country']))}: {attributed:g})",
            }
        )
    return pd.concat([table, pd.DataFrame(rows)], ignore_index=True) if rows else table


def baci_prices(trade: pd.DataFrame, folder: Path = CHAINS_DIR) -> pd.DataFrame:
    """Stage prices from BACI world export unit values (``baci_prices.csv`` names the HS codes
    whose gross weight is the stage's basis): sum of values over sum of quantities, per year,
    as figure rows (grade derived, source ``cepii_baci``) in the figure CSV format."""
    table = _read(folder / "baci_prices.csv", BACI_PRICE_COLUMNS)
    rows = []
    for _, row in table.iterrows():
        unit = _stage_unit(row)
        codes = [int(h) for h in row["hs"].split()]
        per_t = float(row["stage_units_per_t"])
        flows = trade[trade["hs"].isin(codes) & trade["quantity_t"].gt(0)]
        flows = flows[flows["value_kusd"].notna()]
        for year in BACI_PRICE_YEARS:
            one = flows[flows["year"] == year]
            if one.empty:
                continue
            value_usd = float(one["value_kusd"].sum()) * 1000.0
            quantity = float(one["quantity_t"].sum()) * per_t
            rows.append(
                {
                    "commodity": row["commodity"],
                    "stage": row["stage"],
                    "country": "WLD",
                    "variable": "price",
                    "year": str(year),
                    "value": repr(round(value_usd / quantity, 6)),
                    "unit": f"USD/{unit}",
                    "source_id": "cepii_baci",
                    "grade": row["grade"],
                    "note": f"World export unit value, HS {' '.join(map(str, codes))}: "
                    f"{value_usd / 1e6:.1f} million USD over {quantity:.0f} {unit} "
                    f"({len(one)} flows). {row['note']}",
                    "origin": f"baci_prices.csv:{row['commodity']}",
                }
            )
    return pd.DataFrame(rows, columns=[*FIGURE_COLUMNS, "origin"])


def build_figures(
    folder: Path = CHAINS_DIR, sources: set[str] | None = None, trade: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The tidy figures table: commodity, stage, country, variable, year, value, unit,
    source_id, grade, note; values in the stage unit (prices in USD per stage unit).
    With ``trade`` (BACI flows: year, hs, value_kusd, quantity_t), the prices of
    ``baci_prices.csv`` are added."""
    known = _known(folder, sources)
    files = sorted((folder / "figures").glob("*.csv"))
    if not files:
        raise DataError(f"chains: no figure tables in {folder / 'figures'}")
    tables = [_read(path, FIGURE_COLUMNS) for path in files]
    if trade is not None:
        tables.append(baci_prices(trade, folder))
    table = pd.concat(tables, ignore_index=True)
    units = []
    for _, row in table.iterrows():
        units.append(_stage_unit(row))
        _country(row, "country")
        if row["variable"] not in VARIABLES:
            raise _fail(row, "variable", f"must be one of {', '.join(VARIABLES)}")
        if row["variable"] == "price" and row["country"] != "WLD":
            raise _fail(row, "country", "a price is one per stage: country WLD")
        _check_common(row, known)
    table["stage_unit"] = units
    keys = ["commodity", "stage", "country", "variable", "year"]
    dupes = table[table.duplicated(keys, keep=False)]
    if not dupes.empty:
        first = dupes.iloc[0]
        raise DataError(
            f"chains: {', '.join(dupes['origin'])}: one value per concept: "
            f"{'/'.join(str(first[k]) for k in keys)} is given more than once"
        )
    table = _convert_figures(table, converters(folder, known))
    table["year"] = table["year"].astype(int)
    table = _shares(table)
    table = _rest_of_world(table.drop(columns=["origin", "stage_unit"]))
    table["value"] = table["value"].astype(float)
    return table[list(FIGURE_COLUMNS)].sort_values(keys, ignore_index=True)


def build_recipes(folder: Path = CHAINS_DIR, sources: set[str] | None = None) -> pd.DataFrame:
    """Inputs per unit of output of multi-input stages, in the input and output stage units."""
    known = _known(folder, sources)
    table = _read(folder / "recipes.csv", RECIPE_COLUMNS)
    convert = converters(folder, known)
    values, units = [], []
    for _, row in table.iterrows():
        out_unit = _stage_unit(row)
        in_unit = _stage_unit(row, "in_commodity", "in_stage")
        _check_common(row, known)
        given_in, sep, given_out = row["unit"].partition(" per ")
        if not sep:
            raise _fail(row, "unit", "must read '<input unit> per <output unit>'")
        factor = convert[row["in_commodity"]].quantity_factor(given_in, in_unit)
        factor /= convert[row["commodity"]].quantity_factor(given_out, out_unit)
        values.append(float(row["value"]) * factor if row["value"] else np.nan)
        units.append(f"{in_unit} per {out_unit}")
    out = table.assign(value=values, unit=units, year=table["year"].astype(int))
    keys = ["commodity", "stage", "in_commodity", "in_stage", "year"]
    _unique(out, keys, "in_stage", "this input of the same stage and year")
    return out[list(RECIPE_COLUMNS)].sort_values(keys, ignore_index=True)


def build_flows(folder: Path = CHAINS_DIR, sources: set[str] | None = None) -> pd.DataFrame:
    """Cited bilateral flows: quantities in the stage unit, values in USD; month 0 = year."""
    known = _known(folder, sources)
    table = _read(folder / "flows.csv", FLOW_COLUMNS)
    convert = converters(folder, known)
    values, units, months = [], [], []
    for _, row in table.iterrows():
        stage_unit = _stage_unit(row)
        _country(row, "exporter")
        _country(row, "importer")
        if row["exporter"] == row["importer"]:
            raise _fail(row, "importer", "is the exporter")
        if row["variable"] not in FLOW_VARIABLES:
            raise _fail(row, "variable", f"must be one of {', '.join(FLOW_VARIABLES)}")
        if row["month"] and not (row["month"].isdigit() and 1 <= int(row["month"]) <= 12):
            raise _fail(row, "month", "must be 1-12 or empty (a whole year)")
        _check_common(row, known)
        if row["variable"] == "trade_value":
            factor, unit = money_factor(row["unit"]), "USD"
        else:
            factor = convert[row["commodity"]].quantity_factor(row["unit"], stage_unit)
            unit = stage_unit
        values.append(float(row["value"]) * factor if row["value"] else np.nan)
        units.append(unit)
        months.append(int(row["month"]) if row["month"] else 0)
    out = table.assign(value=values, unit=units, month=months, year=table["year"].astype(int))
    keys = ["commodity", "stage", "exporter", "importer", "variable", "year", "month"]
    _unique(out, keys, "importer", "this flow of the same period")
    return out[list(FLOW_COLUMNS)].sort_values(keys, ignore_index=True)


def build_sectors(folder: Path = CHAINS_DIR, sources: set[str] | None = None) -> pd.DataFrame:
    """End-use splits as fractions (0-1) of a stage's use, world (WLD) or one country."""
    known = _known(folder, sources)
    table = _read(folder / "sectors.csv", SECTOR_COLUMNS)
    values = []
    for _, row in table.iterrows():
        _stage_unit(row)
        _country(row, "country")
        if not row["sector"] or not row["sector"].replace("_", "").isalnum():
            raise _fail(row, "sector", "must be a snake_case id")
        _check_common(row, known)
        scale = {"%": 0.01, "share": 1.0}.get(row["unit"])
        if scale is None:
            raise _fail(row, "unit", "must be '%' or 'share'")
        values.append(float(row["value"]) * scale if row["value"] else np.nan)
    out = table.assign(value=values, unit="share", year=table["year"].astype(int))
    keys = ["commodity", "stage", "country", "year"]
    totals = out.groupby(keys)["value"].sum()
    over = totals[totals > 1.0 + SPLIT_ROUNDING]
    if not over.empty:
        where = "/".join(map(str, over.index[0]))
        raise DataError(f"sectors.csv: {where}: shares sum to {over.iloc[0]:.3f} > 1")
    _unique(out, [*keys, "sector"], "sector", "this sector of the same stage, country and year")
    return out[list(SECTOR_COLUMNS)].sort_values([*keys, "sector"], ignore_index=True)


def build_chain_tables(
    folder: Path = CHAINS_DIR, trade: pd.DataFrame | None = None
) -> dict[str, pd.DataFrame]:
    """Every chain table by its embedded name (``chains/<name>.csv``); ``trade`` (the BACI
    table) adds the unit-value prices of ``baci_prices.csv``."""
    sources = read_sources(folder)
    known = set(sources["source_id"])
    tables = {
        "sources": sources,
        "figures": build_figures(folder, known, trade),
        "recipes": build_recipes(folder, known),
        "flows": build_flows(folder, known),
        "sectors": build_sectors(folder, known),
    }
    used = set(_read(folder / "conversions.csv", CONVERSION_COLUMNS)["source_id"])
    for name in ("figures", "recipes", "flows", "sectors"):
        used |= set(tables[name]["source_id"])
    unused = sorted(known - used - {""})
    if unused:
        raise DataError(f"chains/sources.csv: sources {unused} are cited by no figure")
    return tables
