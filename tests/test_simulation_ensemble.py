"""Ensembles: same seed, same results, whether run here, in local processes or on Dask."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

from critmin.cli.app import app
from critmin.simulation.runner import run_ensemble
from critmin.simulation.scenario import load_scenario

EXAMPLE = Path(__file__).parents[1] / "examples" / "scenarios" / "china_licensing_all.yaml"
SAMPLES, CHUNK = 90, 32


def _same(a: xr.Dataset, b: xr.Dataset) -> bool:
    """Bit for bit, NaN where NaN."""
    return all(np.array_equal(a[k].values, b[k].values, equal_nan=True) for k in a.data_vars)


@pytest.fixture(scope="module")
def local() -> xr.Dataset:
    scenario = load_scenario(EXAMPLE)
    return run_ensemble(scenario, SAMPLES, seed=7, chunk_size=CHUNK).data


def test_same_seed_same_results_and_seeds_matter(local: xr.Dataset) -> None:
    scenario = load_scenario(EXAMPLE)
    again = run_ensemble(scenario, SAMPLES, seed=7, chunk_size=CHUNK).data
    assert _same(local, again)
    other = run_ensemble(scenario, SAMPLES, seed=8, chunk_size=CHUNK).data
    assert not np.array_equal(local["shortfall"].values, other["shortfall"].values)
    # sampled fractions and durations spread the outcomes
    totals = local["shortfall"].sum(("stage", "country")).values
    assert np.unique(totals.round(6)).size > SAMPLES // 2


def test_local_processes_give_identical_results(local: xr.Dataset) -> None:
    scenario = load_scenario(EXAMPLE)
    parallel = run_ensemble(scenario, SAMPLES, seed=7, chunk_size=CHUNK, workers=2).data
    assert _same(local, parallel)


def test_dask_local_cluster_gives_identical_results(local: xr.Dataset) -> None:
    distributed = pytest.importorskip("distributed")
    scenario = load_scenario(EXAMPLE)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        on_dask = run_ensemble(scenario, SAMPLES, seed=7, chunk_size=CHUNK, scheduler=client).data
    assert _same(local, on_dask)


def test_cli_ensemble_writes_results_and_manifest(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = CliRunner().invoke(
        app,
        [
            "simulate",
            str(EXAMPLE),
            "--samples",
            "40",
            "--seed",
            "3",
            "-f",
            "json",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)["rows"]
    usa = [r for r in rows if r["country"] == "USA" and r["stage"] == "magnet"]
    assert usa[0]["expected_shortfall_t"] > 0
    assert usa[0]["shortfall_p95_t"] >= usa[0]["shortfall_p50_t"] >= usa[0]["shortfall_p5_t"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 3
    assert manifest["samples"] == 40
    assert manifest["engine"] == "compiled"
    assert manifest["data_version"]
    assert manifest["scenario"]["name"] == "china-licensing-all"
    assert {"summary.csv", "summary.parquet", "scenarios.parquet"} <= {
        p.name for p in out.iterdir()
    }


def test_cli_central_run_writes_timeseries(tmp_path: Path) -> None:
    out = tmp_path / "central"
    result = CliRunner().invoke(app, ["simulate", str(EXAMPLE), "-f", "csv", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("country,stage,unit,")
    import pandas as pd

    frame = pd.read_parquet(out / "timeseries.parquet")
    assert {"month", "stage", "country", "sector", "shortfall", "price"} <= set(frame.columns)
    assert (frame["shortfall"] >= 0).all()


def test_unreachable_scheduler_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from critmin.errors import InputError
    from critmin.simulation import runner

    monkeypatch.setattr(runner, "CONNECT_TIMEOUT_S", 1)
    with pytest.raises(InputError, match=r"scheduler 'tcp://127\.0\.0\.1:9': cannot connect"):
        run_ensemble(load_scenario(EXAMPLE), 4, scheduler="tcp://127.0.0.1:9")
