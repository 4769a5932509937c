"""Input-output tables: the embedded US and Japanese tables, a loader for a user's own table,
their accounting identities, and the model-ready domestic industry-by-industry table.

Storage (embedded ``io_<id>.parquet`` or a user's Parquet/CSV file) is one long table with
columns ``kind, row, col, value`` in the table's unit:

``intermediate`` (commodity x industry), ``final_demand`` (commodity x category; imports are
negative categories), ``value_added`` (component x industry), ``industry_output`` (col =
industry, row empty), ``commodity_output`` (row = commodity, col empty), and for make/use
tables also ``make`` (industry x commodity), ``make_industry_output``,
``make_commodity_output``, ``intermediate_imported`` and ``final_demand_imported``
(the import matrix). A symmetric table (``layout: symmetric``) has the same codes for
commodities and industries and no make rows. A user table comes with a YAML file beside it
(``<file>.yaml``) holding the fields of :class:`TableMeta`.

The model-ready table (:class:`IOTable`) holds domestic flows between industries in USD:
make/use tables are turned into industry-by-industry flows under the industry-technology
assumption, Z = D U_dom with D = V q^-1 (Miller and Blair 2009, ch. 5); symmetric tables with
competitive imports are made domestic with each commodity's import share of domestic use
(the uniform-import-share assumption). ``docs/methods/impact.md`` has the equations.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import xarray as xr
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from critmin.config_files import read_yaml
from critmin.errors import DataError, InputError, field_path, unknown_value

DATA_DIR = Path(__file__).resolve().parent / "data"
IO_MANIFEST = "io_manifest.json"
TABLES = ("us_bea_detail_2017", "us_bea_summary_2023", "jp_mic_2015_185")
KINDS = frozenset(
    {
        "intermediate",
        "final_demand",
        "value_added",
        "industry_output",
        "commodity_output",
        "make",
        "make_industry_output",
        "make_commodity_output",
        "intermediate_imported",
        "final_demand_imported",
    }
)


class TableMeta(BaseModel):
    """What a table is: economy, year, unit and provenance (embedded manifest or user YAML)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    title: str
    economy: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 3166 alpha-3")
    year: int = Field(ge=1950, le=2100)
    layout: Literal["make_use", "symmetric"]
    unit: str
    usd_per_unit: float = Field(gt=0, description="USD per unit of the table's values")
    import_final_demand: list[str] = Field(default_factory=list)
    export_final_demand: list[str] = Field(default_factory=list)
    gdp_excluded_value_added: list[str] = Field(default_factory=list)
    precision: float = Field(gt=0, description="published cells are rounded to this")
    publisher: str
    url: str
    licence: str
    via: str = ""
    grade: Literal["primary", "secondary", "assumption", "derived"] = "primary"


@cache
def io_manifest() -> dict[str, Any]:
    """The embedded IO tables' provenance (``io_manifest.json``)."""
    path = DATA_DIR / IO_MANIFEST
    if not path.is_file():
        raise DataError(f"impact data: {path} is missing")
    manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return manifest


def table_meta(table: str) -> TableMeta:
    """Provenance of an embedded table."""
    tables = io_manifest()["tables"]
    if table not in tables:
        raise unknown_value("input-output table", table, tables)
    return TableMeta.model_validate(tables[table])


def _read_parquet(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise DataError(f"impact data: {path.name} is missing; see critmin.impact.io_build")
    try:
        frame: pd.DataFrame = pq.read_table(path).to_pandas()
    except Exception as exc:  # pyarrow raises several types for damaged files
        raise DataError(f"impact data: {path.name} cannot be read ({exc})") from exc
    return frame


@cache
def raw_table(table: str) -> pd.DataFrame:
    """An embedded table in long form (kind, row, col, value) in its own unit; shared, do not
    mutate."""
    table_meta(table)
    return _read_parquet(DATA_DIR / f"io_{table}.parquet")


@cache
def labels(table: str) -> pd.DataFrame:
    """Codes and names of an embedded table: table, code, role, name, name_local, summary."""
    frame = _read_parquet(DATA_DIR / "io_labels.parquet")
    return frame[frame["table"] == table].reset_index(drop=True)


def _block(raw: pd.DataFrame, kind: str, rows: list[str], cols: list[str]) -> np.ndarray:
    part = raw[raw["kind"] == kind]
    if part.empty:
        return np.zeros((len(rows), len(cols)))
    wide = part.pivot_table(index="row", columns="col", values="value", aggfunc="sum")
    return wide.reindex(index=rows, columns=cols).fillna(0.0).to_numpy(dtype=float)


def _codes(raw: pd.DataFrame, kind: str, axis: Literal["row", "col"]) -> list[str]:
    return sorted(raw.loc[raw["kind"] == kind, axis].unique())


def _industries(raw: pd.DataFrame) -> list[str]:
    """Industry codes: columns of the intermediate, value-added and output rows (a code whose
    cells are all zero is stored nowhere and plays no part)."""
    kinds = ("intermediate", "value_added", "industry_output")
    return sorted(raw.loc[raw["kind"].isin(kinds), "col"].unique())


def _commodities(raw: pd.DataFrame) -> list[str]:
    """Commodity codes: rows of the intermediate, final-demand and output rows."""
    kinds = ("intermediate", "final_demand", "commodity_output")
    return sorted(raw.loc[raw["kind"].isin(kinds), "row"].unique())


def identities(raw: pd.DataFrame, layout: str) -> pd.DataFrame:
    """Residuals of a table's accounting identities, one row per identity and code, in the
    table's unit, with the number of published cells it involves (``cells``, total included):
    ``column`` (intermediate inputs + value added - industry output), ``row`` (intermediate
    use + final demand - commodity output) and, for make/use tables, ``make_row`` (make row
    sum - industry output), ``make_column`` (make column sum - commodity output),
    ``make_vs_use_output`` and ``make_vs_use_commodity``. A table published to the nearest
    ``precision`` can miss an identity by up to ``precision / 2 * cells``."""
    industries = _industries(raw)
    commodities = _commodities(raw)
    inter = _block(raw, "intermediate", commodities, industries)
    va = _block(raw, "value_added", _codes(raw, "value_added", "row"), industries)
    fd = _block(raw, "final_demand", commodities, _codes(raw, "final_demand", "col"))
    g = _block(raw, "industry_output", [""], industries)[0]
    q = _block(raw, "commodity_output", commodities, [""])[:, 0]

    def cells(*blocks: np.ndarray, axis: int) -> np.ndarray:
        # every cell of the summed blocks (a cell published as 0 may hide up to half a
        # unit), and the total
        return np.full(blocks[0].shape[1 - axis], sum(b.shape[axis] for b in blocks) + 1)

    parts = [
        ("column", industries, inter.sum(0) + va.sum(0) - g, cells(inter, va, axis=0)),
        ("row", commodities, inter.sum(1) + fd.sum(1) - q, cells(inter, fd, axis=1)),
    ]
    if layout == "make_use":
        make = _block(raw, "make", industries, commodities)
        mg = _block(raw, "make_industry_output", industries, [""])[:, 0]
        mq = _block(raw, "make_commodity_output", [""], commodities)[0]
        two_i = np.full(len(industries), 2)
        two_c = np.full(len(commodities), 2)
        parts += [
            ("make_row", industries, make.sum(1) - mg, cells(make, axis=1)),
            ("make_column", commodities, make.sum(0) - mq, cells(make, axis=0)),
            ("make_vs_use_output", industries, mg - g, two_i),
            ("make_vs_use_commodity", commodities, mq - q, two_c),
        ]
    return pd.concat(
        [
            pd.DataFrame({"identity": n, "code": c, "residual": r, "cells": k})
            for n, c, r, k in parts
        ],
        ignore_index=True,
    )


@dataclass(frozen=True)
class IOTable:
    """Domestic industry-by-industry flows of one economy, in USD per year.

    ``Z[i, j]``: domestic output of industry i bought by industry j; ``x``: output;
    ``va``: value added counted in GDP; ``imported``: imported intermediate inputs;
    ``other``: inputs that are neither (value-added rows outside GDP, scrap and make/use
    rounding), so that ``Z.sum(0) + imported + va + other = x``.
    """

    id: str
    economy: str
    year: int
    output_year: int
    industries: tuple[str, ...]
    names: tuple[str, ...]
    Z: np.ndarray
    x: np.ndarray
    va: np.ndarray
    imported: np.ndarray
    other: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.industries)

    @property
    def A(self) -> np.ndarray:  # noqa: N802 (the textbook's name)
        """Domestic technical coefficients Z x^-1 (industries with no output: 0)."""
        return self.Z / np.where(self.x > 0, self.x, 1.0)[None, :]

    @property
    def B(self) -> np.ndarray:  # noqa: N802
        """Domestic allocation (Ghosh) coefficients x^-1 Z."""
        return self.Z / np.where(self.x > 0, self.x, 1.0)[:, None]

    @property
    def v(self) -> np.ndarray:
        """Value added per USD of output."""
        return np.where(self.x > 0, self.va / np.where(self.x > 0, self.x, 1.0), 0.0)

    @property
    def gdp(self) -> float:
        """Value added summed over industries, USD per year."""
        return float(self.va.sum())

    def index(self, codes: list[str] | tuple[str, ...]) -> np.ndarray:
        """Positions of industry ``codes``; an :class:`InputError` for an unknown code."""
        where = {c: k for k, c in enumerate(self.industries)}
        missing = [c for c in codes if c not in where]
        if missing:
            raise unknown_value(f"industry of table {self.id}", missing[0], self.industries)
        return np.array([where[c] for c in codes], dtype=int)

    def to_dataset(self) -> xr.Dataset:
        """The table as labelled arrays (USD per year)."""
        ind = list(self.industries)
        return xr.Dataset(
            {
                "flows": (("industry_from", "industry"), self.Z, {"units": "USD/yr"}),
                "output": ("industry", self.x, {"units": "USD/yr"}),
                "value_added": ("industry", self.va, {"units": "USD/yr"}),
                "imported_inputs": ("industry", self.imported, {"units": "USD/yr"}),
            },
            coords={
                "industry": ind,
                "industry_from": ind,
                "name": ("industry", list(self.names)),
            },
            attrs={"table": self.id, "economy": self.economy, "year": self.year},
        )


def _derive(raw: pd.DataFrame, meta: TableMeta, table_id: str, names: dict[str, str]) -> IOTable:
    """Domestic industry-by-industry table (USD) from a raw table."""
    industries = _industries(raw)
    commodities = _commodities(raw)
    unit = meta.usd_per_unit
    g = _block(raw, "industry_output", [""], industries)[0] * unit
    q = _block(raw, "commodity_output", commodities, [""])[:, 0] * unit
    inter = _block(raw, "intermediate", commodities, industries) * unit
    va_rows = _codes(raw, "value_added", "row")
    gdp_rows = [r for r in va_rows if r not in meta.gdp_excluded_value_added]
    va = _block(raw, "value_added", gdp_rows, industries).sum(0) * unit
    if meta.layout == "make_use":
        imported_use = _block(raw, "intermediate_imported", commodities, industries) * unit
        make = _block(raw, "make", industries, commodities) * unit
        shares = make / np.where(q > 0, q, 1.0)[None, :]  # D: industry share of commodity
        # the industry-technology assumption gives a few small negative flows (20 of
        # 161,604 in the 2017 detail table): set to 0, their amount lands in ``other``
        Z = np.maximum(shares @ (inter - imported_use), 0.0)  # noqa: N806
        imported = imported_use.sum(0)
    else:
        if industries != commodities:
            raise DataError(f"table {table_id}: a symmetric table needs the same row/col codes")
        fd_cols = _codes(raw, "final_demand", "col")
        fd = _block(raw, "final_demand", commodities, fd_cols) * unit
        imp = [k for k, c in enumerate(fd_cols) if c in meta.import_final_demand]
        exp = [k for k, c in enumerate(fd_cols) if c in meta.export_final_demand]
        if not imp or not exp:
            raise DataError(f"table {table_id}: import or export columns not among {fd_cols}")
        home = [k for k in range(len(fd_cols)) if k not in imp and k not in exp]
        imports = -fd[:, imp].sum(1)
        use_at_home = inter.sum(1) + fd[:, home].sum(1)
        ratio = imports / np.where(use_at_home > 0, use_at_home, 1.0)
        Z = (1.0 - np.clip(ratio, 0.0, 1.0))[:, None] * inter  # noqa: N806
        imported = (inter - Z).sum(0)
        # by-products recorded as negative inputs (Stone method; 92 small cells in Japan's
        # 2015 table): set to 0 like the make/use artefacts, their amount lands in ``other``
        Z = np.maximum(Z, 0.0)  # noqa: N806
    other = g - Z.sum(0) - imported - va
    return IOTable(
        id=table_id,
        economy=meta.economy,
        year=meta.year,
        output_year=meta.year,
        industries=tuple(industries),
        names=tuple(names.get(c, c) for c in industries),
        Z=Z,
        x=g,
        va=va,
        imported=imported,
        other=other,
        meta=meta.model_dump(),
    )


def _scale_output(table: IOTable, target: IOTable, parents: dict[str, str]) -> IOTable:
    """``table`` with each industry's flows, value added and output scaled by its parent
    industry's output ratio target/table (coefficients unchanged)."""
    parent = np.array([parents.get(c, "") for c in table.industries])
    own = pd.Series(table.x).groupby(parent).sum()
    goal = pd.Series(target.x, index=list(target.industries))
    missing = sorted(set(own.index) - set(goal.index))
    if missing:
        raise DataError(f"table {table.id}: no {target.id} industry for parent codes {missing}")
    factor = (goal.reindex(own.index) / own.where(own > 0, 1.0)).reindex(parent).to_numpy()
    return IOTable(
        id=f"{table.id}_scaled_{target.year}",
        economy=table.economy,
        year=table.year,
        output_year=target.year,
        industries=table.industries,
        names=table.names,
        Z=table.Z * factor[None, :],
        x=table.x * factor,
        va=table.va * factor,
        imported=table.imported * factor,
        other=table.other * factor,
        meta={**table.meta, "output_scaled_to": target.id},
    )


def _column(frame: pd.DataFrame, column: str) -> dict[str, str]:
    """code -> ``column`` of a labels frame."""
    return {str(c): str(v) for c, v in zip(frame["code"], frame[column], strict=True)}


@cache
def embedded_table(table: str) -> IOTable:
    """An embedded table, model-ready (USD of its own year)."""
    codes = labels(table)
    names = _column(codes[codes["role"] == "industry"], "name")
    return _derive(raw_table(table), table_meta(table), table, names)


@cache
def io_table(economy: str) -> IOTable:
    """The default table of ``economy`` (USA: 2017 detail structure with 2023 output by
    summary industry; JPN: MIC 2015, 185 sectors)."""
    defaults = io_manifest()["defaults"]
    if economy not in defaults:
        raise InputError(
            f"country {economy!r}: no embedded input-output table (have "
            f"{', '.join(sorted(defaults))}); load one with critmin.impact.load_io_file"
        )
    spec = defaults[economy]
    table = embedded_table(spec["table"])
    if "scale_output_to" in spec:
        codes = labels(spec["table"])
        parents = _column(codes[codes["role"] == "industry"], "summary")
        table = _scale_output(table, embedded_table(spec["scale_output_to"]), parents)
    return table


def load_io_file(path: Path | str) -> IOTable:
    """A user's table: long Parquet or CSV (kind, row, col, value) with ``<file>.yaml``
    beside it (the fields of :class:`TableMeta`); the identities must hold to the rounding
    of the published cells (``precision``)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"input-output file {path}: not found")
    meta_path = path.with_suffix(path.suffix + ".yaml")
    raw_meta = read_yaml(meta_path, "input-output metadata file")
    try:
        meta = TableMeta.model_validate(raw_meta)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InputError(
            f"{meta_path}: {field_path(tuple(first['loc']), empty='metadata')}: {first['msg']}"
        ) from None
    try:
        raw = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    except Exception as exc:  # pandas raises several types for unreadable files
        raise InputError(f"input-output file {path}: cannot be read ({exc})") from None
    return validate_raw(raw, meta, path.stem)


def validate_raw(raw: pd.DataFrame, meta: TableMeta, name: str) -> IOTable:
    """Check a long table's columns, kinds and identities; the model-ready table."""
    missing = [c for c in ("kind", "row", "col", "value") if c not in raw.columns]
    if missing:
        raise InputError(f"input-output table {name}: column {missing[0]!r} is missing")
    raw = raw.assign(
        row=raw["row"].fillna("").astype(str),
        col=raw["col"].fillna("").astype(str),
        value=pd.to_numeric(raw["value"], errors="coerce"),
    )
    bad_kind = sorted(set(raw["kind"]) - KINDS)
    if bad_kind:
        raise InputError(
            f"input-output table {name}: kind {bad_kind[0]!r} is unknown; valid: "
            f"{', '.join(sorted(KINDS))}"
        )
    if raw["value"].isna().any():
        row = raw[raw["value"].isna()].iloc[0]
        raise InputError(
            f"input-output table {name}: value at {row['kind']} {row['row']}/{row['col']} "
            "is not a number"
        )
    residuals = identities(raw, meta.layout)
    excess = residuals["residual"].abs() - meta.precision / 2 * residuals["cells"]
    if (excess > 0).any():
        worst = residuals.iloc[int(np.argmax(excess.to_numpy()))]
        raise InputError(
            f"input-output table {name}: {worst['identity']} identity fails at "
            f"{worst['code']} by {worst['residual']:g} {meta.unit} (more than rounding to "
            f"{meta.precision:g} allows)"
        )
    return _derive(raw, meta, name, {})
