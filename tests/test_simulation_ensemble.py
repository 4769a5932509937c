"""Ensembles: same seed, same results, whether run here, in local processes or on Dask."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from critmin.cli.app import app
from critmin.simulation.engine import Summary
from critmin.simulation.runner import run_ensemble
from critmin.simulation.scenario import load_scenario

EXAMPLE = Path(__file__).parents[1] / "examples" / "scenarios" / "china_licensing_all.yaml"
SAMPLES, CHUNK = 90, 32


def _same(a: Summary, b: Summary) -> bool:
    return all(np.array_equal(getattr(a, k), getattr(b, k)) for k in Summary.__dataclass_fields__)


@pytest.fixture(scope="module")
def local() -> Summary:
    scenario = load_scenario(EXAMPLE)
    return run_ensemble(scenario, SAMPLES, seed=7, chunk_size=CHUNK).summary


def test_same_seed_same_results_and_seeds_matter(local: Summary) -> None:
    scenario = load_scenario(EXAMPLE)
    again = run_ensemble(scenario, SAMPLES, seed=7, chunk_size=CHUNK).summary
    assert _same(local, again)
    other = run_ensemble(scenario, SAMPLES, seed=8, chunk_size=CHUNK).summary
    assert not np.array_equal(local.shortfall, other.shortfall)
    # sampled fractions and durations spread the outcomes
    assert np.unique(local.shortfall.sum((1, 2)).round(6)).size > SAMPLES // 2


def test_local_processes_give_identical_results(local: Summary) -> None:
    scenario = load_scenario(EXAMPLE)
    parallel = run_ensemble(scenario, SAMPLES, seed=7, chunk_size=CHUNK, workers=2).summary
    assert _same(local, parallel)


def test_dask_local_cluster_gives_identical_results(local: Summary) -> None:
    distributed = pytest.importorskip("distributed")
    scenario = load_scenario(EXAMPLE)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        on_dask = run_ensemble(
            scenario, SAMPLES, seed=7, chunk_size=CHUNK, scheduler=client
        ).summary
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
    assert manifest["engine"] == "fast"
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


def test_skipping_clean_scenarios_changes_nothing() -> None:
    from critmin.simulation.engine import simulate_arrays
    from critmin.simulation.fast import clear_fast
    from critmin.simulation.model import build_market, value_per_tonne
    from critmin.simulation.shocks import build_shocks

    scenario = load_scenario(EXAMPLE.with_name("ev_wind_demand_surge.yaml"))
    market = build_market(scenario)
    shocks = build_shocks(scenario, market, 64, np.random.default_rng(11))
    values = value_per_tonne(scenario, market)
    skipped, _ = simulate_arrays(market, shocks, clear_fast, values, record=False)
    full, _ = simulate_arrays(market, shocks, clear_fast, values, record=True)
    for name in ("shortfall", "reference", "value_at_risk", "peak_price", "mean_price"):
        assert np.allclose(getattr(skipped, name), getattr(full, name), rtol=1e-9, atol=1e-6)
    assert np.array_equal(skipped.first_short, full.first_short)


def test_unreachable_scheduler_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from critmin.errors import InputError
    from critmin.simulation import runner

    monkeypatch.setattr(runner, "CONNECT_TIMEOUT_S", 1)
    with pytest.raises(InputError, match=r"scheduler 'tcp://127\.0\.0\.1:9': cannot connect"):
        run_ensemble(load_scenario(EXAMPLE), 4, scheduler="tcp://127.0.0.1:9")
