"""`data validate` passes on the shipped data and fails loudly on corrupted copies."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from critmin.cli.app import app
from critmin.data.build.geopolrisk_source import sha256_of
from critmin.data.paths import EMBEDDED_DIR
from critmin.data.tables import read_chain_table
from critmin.data.validation import validate


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    target = tmp_path / "embedded"
    shutil.copytree(EMBEDDED_DIR, target)
    return target


def _rehash(folder: Path, dataset: str, file: str) -> None:
    """Make the manifest agree with a tampered file, so only the schema can catch it."""
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["datasets"][dataset]["sha256"] = sha256_of(folder / file)
    (folder / "manifest.json").write_text(json.dumps(manifest))


def test_shipped_data_are_valid() -> None:
    assert validate() == []


def test_a_changed_byte_breaks_the_checksum(copy: Path) -> None:
    path = copy / "curated" / "prices.csv"
    path.write_text(path.read_text().replace("110", "111", 1))
    problems = validate(copy)
    assert any("prices.csv does not match its sha256" in p for p in problems)


def test_negative_production_fails_the_schema(copy: Path) -> None:
    table = pq.read_table(copy / "production.parquet").to_pandas()
    table.loc[0, "value"] = -5.0
    table.to_parquet(copy / "production.parquet", index=False)
    _rehash(copy, "production", "production.parquet")
    problems = validate(copy)
    assert any("production" in p and "value" in p and "-5.0" in p for p in problems)


def test_unknown_country_code_fails_the_schema(copy: Path) -> None:
    table = pq.read_table(copy / "trade.parquet").to_pandas()
    table["exporter"] = table["exporter"].astype(str)
    table.loc[0, "exporter"] = "QQQ"
    table.to_parquet(copy / "trade.parquet", index=False)
    _rehash(copy, "trade", "trade.parquet")
    problems = validate(copy)
    assert any("trade" in p and "QQQ" in p for p in problems)


def test_truncated_file_is_reported_not_raised(copy: Path) -> None:
    path = copy / "governance.parquet"
    path.write_bytes(path.read_bytes()[:100])
    problems = validate(copy)
    assert any("governance.parquet does not match" in p for p in problems)
    assert any("cannot be read" in p for p in problems)


def test_cli_validate_exits_1_on_a_corrupted_copy(copy: Path) -> None:
    (copy / "countries.parquet").unlink()
    result = CliRunner().invoke(app, ["data", "validate", "--path", str(copy)])
    assert result.exit_code == 1
    assert "countries.parquet is missing" in result.output


def _rehash_table(folder: Path, dataset: str, table: str) -> None:
    manifest = json.loads((folder / "manifest.json").read_text())
    entry = manifest["datasets"][dataset]["tables"][table]
    entry["sha256"] = sha256_of(folder / entry["file"])
    (folder / "manifest.json").write_text(json.dumps(manifest))


def test_a_chain_figure_without_grade_or_source_fails_the_schema(copy: Path) -> None:
    path = copy / "chains" / "figures.csv"
    table = read_chain_table(path)
    table.loc[0, ["grade", "source_id"]] = ["guess", "nowhere"]
    table.to_csv(path, index=False, lineterminator="\n")
    _rehash_table(copy, "chains", "figures")
    problems = validate(copy)
    assert any("chains/figures" in p and "'guess'" in p for p in problems)
    assert any("chains/figures" in p and "'nowhere'" in p for p in problems)
