"""Developer step: rebuild the embedded input-output tables from their published copies.

    python -m critmin.impact.io_build --useeior PATH --japan PATH

``--useeior`` is the ``data/`` folder of the US EPA's useeior (v1.7.2; MIT-licensed code,
its ``.rda`` files are the BEA's public-domain tables); ``--japan`` is
``check_japan_2015_185x185_std.xlsx`` from Shiro Takeda's Japanese_SAM_for_CGE (the MIC 2015
table aggregated to 185 sectors, values unchanged). Needs the ``impact-build`` extra
(``pyreadr``, ``openpyxl``). Writes ``io_*.parquet``, ``io_labels.parquet`` and
``io_manifest.json`` into ``critmin/impact/data``; the manifest records the sha256 of every
input and output. The embedded files are what the package ships; this step is how they were
made. Method: ``docs/methods/impact.md``.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from critmin.data.build.geopolrisk_source import sha256_of
from critmin.errors import DataError
from critmin.impact.io_tables import DATA_DIR, IO_MANIFEST, TABLES

JP_WORKBOOK = "check_japan_2015_185x185_std.xlsx"
JP_NAMES = DATA_DIR / "jp_sector_names_en.csv"
COLUMNS = ["kind", "row", "col", "value"]


@dataclass(frozen=True)
class UseeiorSet:
    """The useeior objects of one US table (object names in ``data/*.rda``)."""

    use: str
    make: str
    imports: str
    industries: str
    commodities: str
    industry_total: str  # Use row: total industry output
    commodity_total: str  # Use column: total commodity output
    make_industry_total: str  # Make column: total industry output
    make_commodity_total: str  # Make row: total commodity output
    value_added: tuple[str, ...]
    final_demand_prefix: str


US_SETS = {
    "us_bea_detail_2017": UseeiorSet(
        use="Detail_Use_2017_PRO_BeforeRedef_17sch",
        make="Detail_Make_2017_BeforeRedef_17sch",
        imports="Detail_Import_2017_BeforeRedef_17sch",
        industries="Detail_IndustryCodeName_2017",
        commodities="Detail_CommodityCodeName_2017",
        industry_total="T008",
        commodity_total="NA.1",  # useeior's name for the BEA column T007
        make_industry_total="T008",
        make_commodity_total="T007",
        value_added=("V00100", "V00200", "V00300"),
        final_demand_prefix="F",
    ),
    "us_bea_summary_2023": UseeiorSet(
        use="Summary_Use_2023_PRO_BeforeRedef_17sch",
        make="Summary_Make_2023_BeforeRedef_17sch",
        imports="Summary_Import_2023_BeforeRedef_17sch",
        industries="Summary_IndustryCodeName_2017",
        commodities="Summary_CommodityCodeName_2017",
        industry_total="Total Industry Output",
        commodity_total="Total Commodity Output",
        make_industry_total="Total Industry Output",
        make_commodity_total="Total Commodity Output",
        value_added=("V001", "V002", "V003"),
        final_demand_prefix="F",
    ),
}
# the rows/columns of the summary tables that are commodities without a code-name entry
US_SUMMARY_EXTRA = {
    "Used": "Scrap, used and secondhand goods",
    "Other": "Noncomparable imports and rest-of-the-world adjustment",
}
US_VALUE_ADDED_NAMES = {
    "V00100": "Compensation of employees",
    "V00200": "Taxes on production and imports, less subsidies",
    "V00300": "Gross operating surplus",
    "V001": "Compensation of employees",
    "V002": "Taxes on production and imports, less subsidies",
    "V003": "Gross operating surplus",
}


def _read_rda(folder: Path, name: str) -> pd.DataFrame:
    import pyreadr  # build-only dependency (the impact-build extra)

    path = folder / f"{name}.rda"
    if not path.is_file():
        raise DataError(f"--useeior {folder}: {path.name} is missing")
    frames = pyreadr.read_r(str(path))
    if name not in frames:
        raise DataError(f"{path}: no object {name!r} (found {', '.join(frames)})")
    frame: pd.DataFrame = frames[name]
    return frame


def _long(frame: pd.DataFrame, kind: str) -> pd.DataFrame:
    """Non-zero cells of ``frame`` as (kind, row, col, value)."""
    stacked = frame.astype(float).stack()
    stacked = stacked[stacked.to_numpy() != 0.0]
    out = pd.DataFrame(
        {
            "row": stacked.index.get_level_values(0).astype(str),
            "col": stacked.index.get_level_values(1).astype(str),
            "value": stacked.to_numpy(),
        }
    )
    out.insert(0, "kind", kind)
    return out[COLUMNS]


def build_us(folder: Path, table: str) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """One BEA table as long rows and its labels; the useeior objects it was read from."""
    spec = US_SETS[table]
    use = _read_rda(folder, spec.use)
    make = _read_rda(folder, spec.make)
    imports = _read_rda(folder, spec.imports)
    ind_names = _read_rda(folder, spec.industries)
    com_names = _read_rda(folder, spec.commodities)
    final = [c for c in use.columns if c.startswith(spec.final_demand_prefix)]
    # the import matrix has exactly the commodities as rows and the industries as columns
    commodities = list(imports.index)
    industries = [c for c in imports.columns if c in set(make.index)]
    make = make.reindex(columns=[*commodities, spec.make_industry_total], fill_value=0.0)
    if len(industries) != len(make.index) - 1 or not final:
        raise DataError(f"{spec.use}: industries or final-demand columns not recognised")
    parts = [
        _long(use.loc[commodities, industries], "intermediate"),
        _long(use.loc[commodities, final], "final_demand"),
        _long(use.loc[list(spec.value_added), industries], "value_added"),
        _long(imports.loc[commodities, industries], "intermediate_imported"),
        _long(imports.loc[commodities, final], "final_demand_imported"),
        _long(make.loc[industries, commodities], "make"),
        _long(use.loc[[spec.industry_total], industries], "industry_output").assign(row=""),
        _long(use.loc[commodities, [spec.commodity_total]], "commodity_output").assign(col=""),
        _long(make.loc[industries, [spec.make_industry_total]], "make_industry_output").assign(
            col=""
        ),
        _long(make.loc[[spec.make_commodity_total], commodities], "make_commodity_output").assign(
            row=""
        ),
    ]
    names = dict(zip(ind_names.iloc[:, 0], ind_names.iloc[:, 1], strict=True))
    cnames = dict(zip(com_names.iloc[:, 0], com_names.iloc[:, 1], strict=True))
    cnames.update(US_SUMMARY_EXTRA)
    labels = [{"code": c, "role": "industry", "name": names.get(c, c)} for c in industries]
    labels += [{"code": c, "role": "commodity", "name": cnames.get(c, c)} for c in commodities]
    labels += [
        {"code": c, "role": "value_added", "name": US_VALUE_ADDED_NAMES[c]}
        for c in spec.value_added
    ]
    labels += [{"code": c, "role": "final_demand", "name": c} for c in final]
    if table == "us_bea_detail_2017":
        crosswalk = _read_rda(folder, "MasterCrosswalk2017")
        parent = dict(
            zip(crosswalk["BEA_2017_Detail_Code"], crosswalk["BEA_2017_Summary_Code"], strict=False)
        )
        for label in labels:
            if label["role"] == "industry":
                label["summary"] = parent.get(label["code"], "")
    objects = [spec.use, spec.make, spec.imports, spec.industries, spec.commodities] + (
        ["MasterCrosswalk2017"] if table == "us_bea_detail_2017" else []
    )
    return pd.concat(parts, ignore_index=True), pd.DataFrame(labels), objects


def build_japan(workbook: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """MIC 2015 (185 sectors) as long rows (billion JPY) and its labels."""
    import openpyxl  # build-only dependency (the impact-build extra)

    if not workbook.is_file():
        raise DataError(f"--japan {workbook}: file not found")
    book = openpyxl.load_workbook(workbook, read_only=True, data_only=True)
    rows = list(book["Value_data"].iter_rows(values_only=True))
    sets = list(book["Set_data"].iter_rows(values_only=True))
    sectors = [str(r[0]) for r in sets[3:] if r[0] is not None]
    value_added = [str(r[6]) for r in sets[3:] if r[6] is not None]
    final = [str(r[9]) for r in sets[3:] if r[9] is not None]
    local = {str(r[0]): str(r[1]) for r in sets[3:] if r[0] is not None}
    local |= {str(r[6]): str(r[7]) for r in sets[3:] if r[6] is not None}
    local |= {str(r[9]): str(r[10]) for r in sets[3:] if r[9] is not None}
    header = [str(c) if c is not None else "" for c in rows[2]]
    body = {
        str(r[0]): [float(v) if v is not None else 0.0 for v in r[1:]]
        for r in rows[3:]
        if r[0] is not None
    }
    frame = pd.DataFrame.from_dict(body, orient="index", columns=header[1:])
    if not set(sectors) <= set(frame.index) or "Total" not in frame.columns:
        raise DataError(f"{workbook.name}: Value_data does not have the 185-sector layout")
    parts = [
        _long(frame.loc[sectors, sectors], "intermediate"),
        _long(frame.loc[sectors, final], "final_demand"),
        _long(frame.loc[value_added, sectors], "value_added"),
        _long(frame.loc[["Total"], sectors], "industry_output").assign(row=""),
        _long(frame.loc[sectors, ["Total"]], "commodity_output").assign(col=""),
    ]
    english = pd.read_csv(JP_NAMES, dtype=str).set_index("code")["name_en"].to_dict()
    missing = [c for c in [*sectors, *value_added, *final] if c not in english]
    if missing:
        raise DataError(f"{JP_NAMES.name}: no English name for {missing[:5]}")
    labels = [
        {"code": c, "role": role, "name": english[c], "name_local": local[c]}
        for role, codes in (
            ("industry", sectors),
            ("value_added", value_added),
            ("final_demand", final),
        )
        for c in codes
    ]
    return pd.concat(parts, ignore_index=True), pd.DataFrame(labels)


def _write(frame: pd.DataFrame, path: Path) -> None:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(table, path, compression="zstd", compression_level=19)


def build(useeior: Path, japan: Path, out: Path = DATA_DIR) -> dict[str, Any]:
    """Write every IO table, the labels and the manifest into ``out``; return the manifest."""
    spec: dict[str, Any] = json.loads((out / IO_MANIFEST).read_text(encoding="utf-8"))
    label_frames = []
    for table in TABLES:
        if table in US_SETS:
            rows, labels, objects = build_us(useeior, table)
            inputs = {f"useeior/data/{o}.rda": sha256_of(useeior / f"{o}.rda") for o in objects}
        else:
            rows, labels = build_japan(japan)
            inputs = {JP_WORKBOOK: sha256_of(japan), JP_NAMES.name: sha256_of(JP_NAMES)}
        path = out / f"io_{table}.parquet"
        rows = rows.sort_values(["kind", "row", "col"], kind="stable").reset_index(drop=True)
        _write(rows, path)
        label_frames.append(labels.assign(table=table))
        entry = spec["tables"][table]
        entry.update({"file": path.name, "rows": len(rows), "sha256": sha256_of(path)})
        entry["inputs"] = inputs
    labels = pd.concat(label_frames, ignore_index=True)
    labels = labels[["table", "code", "role", "name", "name_local", "summary"]].fillna("")
    _write(labels, out / "io_labels.parquet")
    spec["labels"] = {"file": "io_labels.parquet", "sha256": sha256_of(out / "io_labels.parquet")}
    (out / IO_MANIFEST).write_text(json.dumps(spec, indent=2, ensure_ascii=False) + "\n")
    return spec


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point (a developer tool, not a ``critmin`` command)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--useeior", type=Path, required=True, help="useeior data/ folder")
    parser.add_argument("--japan", type=Path, required=True, help=JP_WORKBOOK)
    args = parser.parse_args(argv)
    manifest = build(args.useeior, args.japan)
    for table, entry in manifest["tables"].items():
        print(f"{table}: {entry['rows']} cells, sha256 {entry['sha256'][:12]}")


if __name__ == "__main__":
    main()
