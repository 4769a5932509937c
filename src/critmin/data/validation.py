"""Schemas of the embedded tables (pandera) and the integrity check behind ``data validate``.

``validate(folder)`` checks every file against the manifest's sha256, then every table
against its schema: units, ranges, known codes, and shares that sum to at most 100 %.
It returns the list of problems (empty when all is well); it never repairs anything.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pandera.pandas as pa
import pyarrow.parquet as pq

from critmin.data.build.chains import FLOW_VARIABLES, GRADES, VARIABLES
from critmin.data.build.geopolrisk_source import sha256_of
from critmin.data.commodities import STAGE_ORDER, catalog
from critmin.data.paths import EMBEDDED_DIR, MANIFEST_NAME
from critmin.data.tables import read_chain_table

#: sources round each country's share, so a split may add up to slightly over 100 %
SHARE_ROUNDING_PP = 0.5


def _chain_schemas(codes: set[str], sources: set[str]) -> dict[str, pa.DataFrameSchema]:
    """Schemas of the chain tables (``chains/*.csv``)."""
    known = pa.Check.isin(sorted(codes | {"WLD"}), error="unknown country code")
    cited = pa.Check.isin(sorted(sources), error="source_id not in chains/sources.csv")
    graded = pa.Check(
        lambda d: d["value"].isna() == d["grade"].eq(""),
        error="a value has a grade and an unknown (NaN) value has none",
    )
    common = {
        "commodity": pa.Column(str, pa.Check.isin(sorted(catalog()))),
        "stage": pa.Column(str, pa.Check.isin(STAGE_ORDER)),
        "year": pa.Column(int, pa.Check.in_range(1990, 2035)),
        "value": pa.Column(float, pa.Check.ge(0), nullable=True),
        "grade": pa.Column(str, pa.Check.isin(["", *GRADES])),
        "source_id": pa.Column(str, pa.Check.isin(["", *sources])),
    }
    return {
        "chains/figures": pa.DataFrameSchema(
            {
                **common,
                "country": pa.Column(str, known),
                "variable": pa.Column(str, pa.Check.isin(VARIABLES)),
            },
            checks=[graded, pa.Check(lambda d: d["source_id"].ne("") | d["value"].isna())],
            unique=["commodity", "stage", "country", "variable", "year"],
            coerce=True,
        ),
        "chains/flows": pa.DataFrameSchema(
            {
                **common,
                "exporter": pa.Column(str, known),
                "importer": pa.Column(str, known),
                "variable": pa.Column(str, pa.Check.isin(FLOW_VARIABLES)),
                "month": pa.Column(int, pa.Check.in_range(0, 12)),
            },
            checks=graded,
            unique=["commodity", "stage", "exporter", "importer", "variable", "year", "month"],
            coerce=True,
        ),
        "chains/recipes": pa.DataFrameSchema(
            {**common, "in_commodity": pa.Column(str, pa.Check.isin(sorted(catalog())))},
            checks=graded,
            coerce=True,
        ),
        "chains/sectors": pa.DataFrameSchema(
            {
                **common,
                "country": pa.Column(str, known),
                "value": pa.Column(float, pa.Check.in_range(0, 1), nullable=True),
            },
            checks=graded,
            coerce=True,
        ),
        "chains/sources": pa.DataFrameSchema(
            {
                "source_id": pa.Column(str, cited, unique=True),
                "licence": pa.Column(str, pa.Check.str_length(min_value=1)),
                "publisher": pa.Column(str, pa.Check.str_length(min_value=1)),
            },
            coerce=True,
        ),
    }


def _schemas(codes: set[str], hs: set[int]) -> dict[str, pa.DataFrameSchema]:
    known = pa.Check.isin(sorted(codes), error="unknown country code")
    return {
        "production": pa.DataFrameSchema(
            {
                "commodity": pa.Column(str, pa.Check.isin(sorted(catalog()))),
                "stage": pa.Column(str, pa.Check.isin(STAGE_ORDER)),
                "country": pa.Column(str, known),
                "year": pa.Column(int, pa.Check.in_range(2018, 2024)),
                "value": pa.Column(float, pa.Check.ge(0)),
                "unit": pa.Column(str, pa.Check.str_matches(r"^(t|kg|ct|million m3)\b")),
                "status": pa.Column(str, pa.Check.isin(["r", "e", "p"]), nullable=True),
            },
            unique=["commodity", "stage", "country", "year"],
            coerce=True,
        ),
        "trade": pa.DataFrameSchema(
            {
                "year": pa.Column(int, pa.Check.in_range(1995, 2024)),
                "exporter": pa.Column(str, known),
                "importer": pa.Column(str, known),
                "hs": pa.Column(
                    int, pa.Check.isin(sorted(hs), error="HS code outside the catalogue")
                ),
                "value_kusd": pa.Column(float, pa.Check.ge(0), nullable=True),
                "quantity_t": pa.Column(float, pa.Check.ge(0), nullable=True),
            },
            checks=pa.Check(lambda d: d["exporter"] != d["importer"], error="self-trade"),
            coerce=True,
        ),
        "governance": pa.DataFrameSchema(
            {
                "country": pa.Column(str, known),
                "year": pa.Column(int, pa.Check.in_range(1996, 2024)),
                "estimate": pa.Column(float, pa.Check.in_range(-4.0, 4.0), nullable=True),
                "normalized": pa.Column(float, pa.Check.in_range(0.0, 1.0), nullable=True),
            },
            unique=["country", "year"],
            coerce=True,
        ),
        "countries": pa.DataFrameSchema(
            {"code": pa.Column(str, pa.Check.str_matches(r"^[A-Z0-9]{3}$"), unique=True)},
            coerce=True,
        ),
        "stage_shares": pa.DataFrameSchema(
            {
                "share_pct_num": pa.Column(float, pa.Check.in_range(0.0, 100.0), nullable=True),
                "source_url": pa.Column(str, nullable=True),
                "confidence": pa.Column(
                    str, pa.Check.isin(["high", "medium", "low", "not_found"]), nullable=True
                ),
            },
            checks=pa.Check(
                _shares_at_most_100, error="country shares of one stage and year exceed 100%"
            ),
            coerce=True,
        ),
    }


def _shares_at_most_100(table: pd.DataFrame) -> bool:
    used = table[table["use_for_shares"].astype(bool) & ~table["country_iso3"].isin(["WLD", "ROW"])]
    totals = used.groupby(["commodity", "stage_id", "year_num", "product"])["share_pct_num"].sum()
    return bool((totals <= 100.0 + SHARE_ROUNDING_PP).all())


def _check_files(folder: Path, manifest: dict[str, object]) -> list[str]:
    problems = []
    datasets = manifest.get("datasets", {})
    assert isinstance(datasets, dict)
    for name, entry in datasets.items():
        files = [(entry["file"], entry["sha256"])] if "file" in entry else []
        files += [(t["file"], t["sha256"]) for t in entry.get("tables", {}).values()]
        for file, expected in files:
            path = folder / file
            if not path.is_file():
                problems.append(f"{name}: file {file} is missing")
            elif sha256_of(path) != expected:
                problems.append(f"{name}: file {file} does not match its sha256 in the manifest")
    return problems


def validate(folder: Path = EMBEDDED_DIR) -> list[str]:
    """All problems found in the embedded data at ``folder`` (empty list: valid)."""
    manifest_path = folder / MANIFEST_NAME
    if not manifest_path.is_file():
        return [f"manifest: {manifest_path} is missing"]
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        return [f"manifest: not valid JSON ({exc})"]
    problems = _check_files(folder, manifest)
    try:
        frames = {
            name: pq.read_table(folder / f"{name}.parquet").to_pandas()
            for name in ("production", "trade", "governance", "countries", "hs_codes")
        }
        frames["stage_shares"] = pd.read_csv(
            folder / "curated" / "stage_shares.csv", low_memory=False
        )
        for name in ("figures", "flows", "recipes", "sectors", "sources"):
            frames[f"chains/{name}"] = read_chain_table(folder / "chains" / f"{name}.csv")
    except Exception as exc:  # a damaged file: report, do not crash
        return [*problems, f"tables: cannot be read ({exc})"]
    codes = set(frames["countries"]["code"].astype(str))
    hs = set(frames["hs_codes"]["hs"].astype(int))
    sources = set(frames["chains/sources"]["source_id"])
    schemas = {**_schemas(codes, hs), **_chain_schemas(codes, sources)}
    for name, schema in schemas.items():
        frame = frames[name]
        for column in frame.select_dtypes(include="category").columns:
            frame[column] = frame[column].astype(str)
        try:
            schema.validate(frame, lazy=True)
        except pa.errors.SchemaErrors as exc:
            cases = exc.failure_cases.head(5)
            for _, case in cases.iterrows():
                problems.append(
                    f"{name}: column {case['column']!r} check {case['check']!r} fails "
                    f"for value {case['failure_case']!r}"
                )
    return problems
