"""``critmin data build``: sources -> embedded Parquet/CSV tables + manifest.json.

The output is deterministic: rows are sorted, Parquet is written without timestamps, and
the manifest records the sha256 of every input and output file, so a rebuild from the same
inputs gives the same files.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from critmin.data.build import chains, curation, geopolrisk_source
from critmin.data.build.countries import baci_code_to_iso3, country_table, names_to_iso3
from critmin.data.build.geopolrisk_source import SourceFiles, sha256_of
from critmin.data.commodities import catalog, hs_stage_table
from critmin.data.paths import CATALOG_DIR, EMBEDDED_DIR, MANIFEST_NAME
from critmin.errors import DataError

log = logging.getLogger(__name__)


TRADE_ROW_GROUP = 50_000  # rows sorted by year: a year's read skips the other row groups


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(
        table,
        path,
        compression="zstd",
        compression_level=19,
        write_statistics=True,
        row_group_size=TRADE_ROW_GROUP,
    )


def build_production(files: SourceFiles) -> pd.DataFrame:
    """WMD production by commodity, country and year at each commodity's WMD stage."""
    frames = []
    for item in catalog().values():
        if item.wmd_sheet is None:
            continue  # a manufactured product: no World Mining Data sheet
        sheet = geopolrisk_source.read_wmd_sheet(files, item.wmd_sheet)
        iso = sheet["wmd_iso"].where(sheet["wmd_iso"].str.fullmatch(r"[A-Z]{3}").fillna(False))
        fixed = names_to_iso3(sheet["country_name"])
        # WMD labels Taiwan S19 and Kosovo R20 (BACI-style aggregates): use the names there.
        iso = iso.where(~iso.isin(["S19", "R20"]), fixed).fillna(fixed)
        if iso.isna().any():
            bad = sorted(sheet.loc[iso.isna(), "country_name"].unique())
            raise DataError(f"WMD sheet {item.wmd_sheet!r}: countries {bad} have no ISO3 code")
        frames.append(
            pd.DataFrame(
                {
                    "commodity": item.id,
                    "stage": item.wmd_stage,
                    "country": iso,
                    "year": sheet["year"],
                    "value": sheet["value"],
                    "unit": item.stage(item.wmd_stage).unit,
                    "status": sheet["status"].where(sheet["status"].isin(["r", "e", "p"])),
                }
            )
        )
    production = pd.concat(frames, ignore_index=True)
    keys = ["commodity", "stage", "country", "year"]
    production = (
        production.groupby(keys, as_index=False)
        .agg(value=("value", "sum"), unit=("unit", "first"), status=("status", "first"))
        .sort_values(keys, ignore_index=True)
    )
    for column in ("commodity", "stage", "country", "unit", "status"):
        production[column] = production[column].astype("category")
    production["year"] = production["year"].astype("int16")
    return production


def build_trade(files: SourceFiles, code_to_iso: dict[int, str]) -> pd.DataFrame:
    """BACI flows with ISO3 exporter/importer; duplicate codes (BEL-LUX, FRG) summed."""
    raw = geopolrisk_source.read_baci(files)
    raw["exporter"] = raw["exporter_code"].map(code_to_iso)
    raw["importer"] = raw["importer_code"].map(code_to_iso)
    if raw[["exporter", "importer"]].isna().any().any():
        raise DataError("BACI: some country codes are missing from BACI's country table")
    keys = ["year", "exporter", "importer", "hs"]
    trade = (
        raw[[*keys, "value_kusd", "quantity_t"]]
        .groupby(keys, as_index=False, sort=True, observed=True)
        .sum(min_count=1)
        .sort_values(keys, ignore_index=True)
    )
    trade["year"] = trade["year"].astype("int16")
    trade["hs"] = trade["hs"].astype("int32")
    for column in ("exporter", "importer"):
        trade[column] = trade[column].astype("category")
    return trade


def build_governance(files: SourceFiles) -> pd.DataFrame:
    wgi = geopolrisk_source.read_wgi(files)
    fixed = names_to_iso3(wgi["country_name"])
    valid = wgi["wgi_code"].where(wgi["wgi_code"].str.fullmatch(r"[A-Z]{3}").fillna(False))
    code = valid.where(~valid.isin(["R20", "ANT", "PUS"]) | fixed.isna(), fixed)
    governance = wgi.assign(country=code).dropna(subset=["country"])
    governance = governance[
        ["country", "year", "estimate", "std_error", "percentile_rank", "normalized"]
    ]
    governance = governance.groupby(["country", "year"], as_index=False).first()
    governance["year"] = governance["year"].astype("int16")
    return governance.sort_values(["country", "year"], ignore_index=True)


def build_hs_codes(files: SourceFiles, traded: set[int]) -> pd.DataFrame:
    """Every HS code of the BACI extract, with its critmin commodity and stage where mapped."""
    products = geopolrisk_source.read_baci_products(files)
    products = products[products["hs"].isin(traded)]
    stages = pd.DataFrame(hs_stage_table(), columns=["hs", "commodity", "stage"])
    return products.merge(stages, on="hs", how="left").sort_values("hs", ignore_index=True)


def build_commodities(files: SourceFiles) -> pd.DataFrame:
    wmd = geopolrisk_source.read_wmd_map(files)
    rows = [
        {"commodity": c.id, "name": c.name, "wmd_sheet": c.wmd_sheet, "wmd_stage": c.wmd_stage}
        for c in catalog().values()
    ]
    table = pd.DataFrame(rows).merge(wmd, on="wmd_sheet", how="left", validate="one_to_one")
    return table.sort_values("commodity", ignore_index=True)


def build_curated(reference: Path) -> dict[str, pd.DataFrame]:
    tables = {}
    for name in curation.REFERENCE_FILES:
        raw = curation.read_reference(reference, name)
        if name == "stage_shares":
            tables[name] = curation.curated_stage_shares(raw)
        else:
            tables[name] = curation.normalise_reference(name, raw)
    return tables


def _write_csv_tables(
    scratch: Path, folder: str, frames: dict[str, pd.DataFrame]
) -> dict[str, dict[str, Any]]:
    """Write ``frames`` as ``<folder>/<name>.csv`` (deterministic) and describe each file."""
    (scratch / folder).mkdir()
    described = {}
    for name, frame in frames.items():
        path = scratch / folder / f"{name}.csv"
        frame.to_csv(path, index=False, lineterminator="\n")
        described[name] = {
            "file": f"{folder}/{name}.csv",
            "rows": len(frame),
            "sha256": sha256_of(path),
        }
    return described


def _input_hashes(reference: Path) -> dict[str, str]:
    names = [f"{n}.csv" for n in curation.REFERENCE_FILES]
    hashes = {f"shared/reference/{n}": sha256_of(reference / n) for n in names}
    for path in sorted(p for p in CATALOG_DIR.rglob("*") if p.is_file()):
        hashes[f"critmin/data/catalog/{path.relative_to(CATALOG_DIR).as_posix()}"] = sha256_of(path)
    return hashes


def build(source: Path | None, reference: Path, out: Path = EMBEDDED_DIR) -> dict[str, Any]:
    """Build every embedded table into ``out`` and return the manifest.

    The tables are written to a scratch folder first and moved into place only when all of
    them succeeded, so a failed build leaves the previous data untouched.
    """
    static = yaml.safe_load((CATALOG_DIR / "sources.yaml").read_text(encoding="utf-8"))
    with geopolrisk_source.open_source(source) as files, tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        baci_countries = geopolrisk_source.read_baci_countries(files)
        code_to_iso = baci_code_to_iso3(baci_countries)
        trade = build_trade(files, code_to_iso)
        tables: dict[str, pd.DataFrame] = {
            "production": build_production(files),
            "trade": trade,
            "governance": build_governance(files),
            "hs_codes": build_hs_codes(files, set(trade["hs"].unique())),
            "commodities": build_commodities(files),
        }
        codes = (
            set(tables["production"]["country"].astype(str))
            | set(tables["trade"]["exporter"].astype(str))
            | set(tables["trade"]["importer"].astype(str))
            | set(tables["governance"]["country"].astype(str))
        )
        names = dict(
            zip(baci_countries["country_iso3"], baci_countries["country_name"], strict=False)
        )
        chain_tables = chains.build_chain_tables(trade=trade)
        figures, flows = chain_tables["figures"], chain_tables["flows"]
        codes |= (set(figures["country"]) | set(flows["exporter"]) | set(flows["importer"])) - {
            "WLD"
        }
        tables["countries"] = country_table(codes, names, code_to_iso)
        curated = build_curated(reference)

        datasets: dict[str, Any] = {}
        for name, frame in tables.items():
            path = scratch / f"{name}.parquet"
            _write_parquet(frame, path)
            datasets[name] = {
                **static[name],
                "file": path.name,
                "rows": len(frame),
                "sha256": sha256_of(path),
                "inputs": files.sha256,
            }
        datasets["curated"] = {
            **static["curated"],
            "tables": _write_csv_tables(scratch, "curated", curated),
            "inputs": _input_hashes(reference),
        }
        datasets["chains"] = {
            **static["chains"],
            "tables": _write_csv_tables(scratch, "chains", chain_tables),
            "inputs": {
                k: v for k, v in _input_hashes(reference).items() if "/catalog/chains/" in k
            },
        }

        fingerprint = hashlib.sha256(
            json.dumps(datasets, sort_keys=True).encode("utf-8")
        ).hexdigest()
        manifest = {
            "data_version": fingerprint[:12],
            "source_origin": files.origin,
            "geopolrisk_version": geopolrisk_source.GEOPOLRISK_VERSION,
            "datasets": datasets,
        }
        (scratch / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        out.mkdir(parents=True, exist_ok=True)
        for old in [*out.glob("*.parquet"), out / MANIFEST_NAME]:
            old.unlink(missing_ok=True)
        for folder in ("curated", "chains"):
            shutil.rmtree(out / folder, ignore_errors=True)
        for item in scratch.iterdir():
            shutil.move(str(item), out / item.name)
    log.info("built %d datasets into %s", len(datasets), out)
    return manifest
