"""Run a scenario: one central run, or an ensemble of sampled scenarios in chunks.

Chunk ``i`` of an ensemble always holds scenarios ``i * chunk_size ...`` and draws them from
``SeedSequence(seed, spawn_key=(i,))``, so results do not depend on how many workers run the
chunks, nor where (local processes or a Dask cluster): same seed, bit-identical results.
"""

from __future__ import annotations

import mmap
import multiprocessing as mp
import platform
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Literal

import numpy as np

import critmin
from critmin.errors import InputError
from critmin.simulation.calibration import Market
from critmin.simulation.engine import ClearFn, Summary, simulate_arrays
from critmin.simulation.exact import clear_exact
from critmin.simulation.fast import clear_fast
from critmin.simulation.model import build_market, value_per_tonne
from critmin.simulation.params import parameter_table
from critmin.simulation.results import SimulationResult, SummaryCollector, timeseries
from critmin.simulation.scenario import Scenario
from critmin.simulation.shocks import build_shocks

Engine = Literal["fast", "exact"]
CHUNK_SIZE = 2048
CONNECT_TIMEOUT_S = 10
ENGINES: dict[str, ClearFn] = {"fast": clear_fast, "exact": clear_exact}
Progress = Callable[[int, int], None]


def _engine(name: str) -> ClearFn:
    if name not in ENGINES:
        raise InputError(f"engine {name!r}: valid engines are fast, exact")
    return ENGINES[name]


def _manifest(
    scenario: Scenario, engine: str, samples: int | None, seed: int | None, **extra: Any
) -> dict[str, Any]:
    market = build_market(scenario)
    return {
        "scenario": scenario.model_dump(mode="json"),
        "engine": engine,
        "samples": samples,
        "seed": seed,
        "chunk_size": CHUNK_SIZE if samples else None,
        "code_version": critmin.__version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "data_version": market.data_version,
        "data_year": market.year,
        "regions": market.regions,
        "stages": market.stages,
        "units": market.units,
        "base_price_usd_per_t": dict(zip(market.stages, market.base_price.tolist(), strict=True)),
        "price_basis": dict(zip(market.stages, market.price_basis, strict=True)),
        "parameters": {
            **parameter_table().set_index("name")["value"].to_dict(),
            **scenario.parameters,
        },
        "calibration_notes": market.notes,
        **extra,
    }


def simulate(scenario: Scenario, engine: Engine = "fast") -> SimulationResult:
    """The central run of ``scenario`` (distributions at their central values), month by month."""
    clear = _engine(engine)
    market = build_market(scenario)
    shocks = build_shocks(scenario, market, 1, None)
    summary, trace = simulate_arrays(
        market, shocks, clear, value_per_tonne(scenario, market), record=True
    )
    return SimulationResult(
        market=market,
        summary=summary,
        months=scenario.horizon.months,
        manifest=_manifest(scenario, engine, None, None),
        timeseries=timeseries(market, trace, scenario.horizon.labels()),
    )


def run_chunk(
    scenario_json: str, engine: str, seed: int, index: int, size: int, out: Summary | None = None
) -> Summary:
    """Scenarios ``index * CHUNK_SIZE ...`` (``size`` of them) of an ensemble; picklable.
    Written into ``out`` (``size`` rows) when given."""
    scenario = Scenario.model_validate_json(scenario_json)
    market = build_market(scenario)
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(index,))))
    shocks = build_shocks(scenario, market, size, rng)
    values = value_per_tonne(scenario, market)
    if engine == "fast":
        # compiled, same results; imported here so that importing critmin does not load numba
        from critmin.simulation.kernel import simulate_ensemble

        return simulate_ensemble(market, shocks, values, out)
    summary, _ = simulate_arrays(market, shocks, _engine(engine), values)
    if out is None:
        return summary
    for name in Summary.__dataclass_fields__:
        getattr(out, name)[...] = getattr(summary, name)
    return out


# the ensemble's summary in shared memory, set before local workers fork (they write into it)
_SHARED: Summary | None = None


def _run_chunk_shared(
    scenario_json: str, engine: str, seed: int, index: int, size: int, start: int
) -> None:
    """``run_chunk`` in a forked worker, written into rows ``start ...`` of ``_SHARED``."""
    assert _SHARED is not None, "worker not forked from run_ensemble"
    run_chunk(scenario_json, engine, seed, index, size, _SHARED.rows(start, start + size))


def _chunks(samples: int, chunk_size: int) -> list[tuple[int, int]]:
    return [
        (i, min(chunk_size, samples - i * chunk_size)) for i in range(-(-samples // chunk_size))
    ]


def run_ensemble(
    scenario: Scenario,
    samples: int,
    seed: int = 0,
    engine: Engine = "fast",
    workers: int = 1,
    scheduler: str | None = None,
    chunk_size: int = CHUNK_SIZE,
    progress: Progress | None = None,
) -> SimulationResult:
    """``samples`` sampled scenarios: in this process, ``workers`` local processes, or on the
    Dask cluster at ``scheduler`` (``tcp://host:port``, or a ``distributed.Client``)."""
    if samples < 1:
        raise InputError(f"samples {samples}: must be at least 1")
    if workers < 1:
        raise InputError(f"workers {workers}: must be at least 1")
    _engine(engine)
    build_market(scenario)  # validate events before any worker starts
    text = scenario.model_dump_json()
    chunks = _chunks(samples, chunk_size)
    market = build_market(scenario)
    if scheduler is not None:
        summary = _run_dask(scheduler, text, engine, seed, chunks, chunk_size, samples, progress)
    else:
        summary = _run_local(text, engine, seed, chunks, chunk_size, market, workers, progress)
    where = f"dask {scheduler}" if scheduler is not None else f"{workers} local process(es)"
    return SimulationResult(
        market=market,
        summary=summary,
        months=scenario.horizon.months,
        manifest=_manifest(scenario, engine, samples, seed, executed_on=where),
    )


def _run_local(
    text: str,
    engine: str,
    seed: int,
    chunks: list[tuple[int, int]],
    chunk_size: int,
    market: Market,
    workers: int,
    progress: Progress | None,
) -> Summary:
    """Chunks in this process, or in ``workers`` forked processes that write their rows of
    one summary in shared memory (no results pickled back); where processes cannot be
    forked, results come back pickled."""
    global _SHARED
    samples = sum(size for _, size in chunks)
    n_s, n_r = market.n_stages, market.n_regions
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, len(chunks))

    if workers == 1 or len(chunks) == 1:
        summary = Summary.zeros(samples, n_s, n_r)
        for index, size in chunks:
            start = index * chunk_size
            run_chunk(text, engine, seed, index, size, summary.rows(start, start + size))
            tick()
        return summary
    if engine == "fast":
        # load the compiled kernel here once: forked workers inherit it
        run_chunk(text, engine, seed, 0, 1)
    if "fork" not in mp.get_all_start_methods():
        collected = SummaryCollector(samples)
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(run_chunk, text, engine, seed, i, n) for i, n in chunks]
            for (index, _), future in zip(chunks, futures, strict=True):
                collected.add(index * chunk_size, future.result())
                tick()
        return collected.summary()
    buffer = mmap.mmap(-1, Summary.nbytes(samples, n_s, n_r))  # shared, zero-filled
    _SHARED = Summary.zeros(samples, n_s, n_r, buffer)
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("fork")) as pool:
            jobs = [
                pool.submit(_run_chunk_shared, text, engine, seed, i, n, i * chunk_size)
                for i, n in chunks
            ]
            for job in jobs:
                job.result()
                tick()
        return _SHARED
    finally:
        _SHARED = None


def _run_dask(
    scheduler: Any,
    text: str,
    engine: str,
    seed: int,
    chunks: list[tuple[int, int]],
    chunk_size: int,
    samples: int,
    progress: Progress | None,
) -> Summary:
    from distributed import Client, as_completed

    own = not isinstance(scheduler, Client)
    client: Any
    if own:
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT_S)  # type: ignore[no-untyped-call]
        except (OSError, TimeoutError, ValueError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise InputError(f"scheduler {scheduler!r}: cannot connect ({reason})") from None
    else:
        client = scheduler
    try:
        collected = SummaryCollector(samples)
        futures = {
            client.submit(run_chunk, text, engine, seed, i, n, pure=False): i for i, n in chunks
        }
        for count, future in enumerate(as_completed(futures), start=1):  # type: ignore[no-untyped-call]
            collected.add(futures[future] * chunk_size, future.result())
            if progress is not None:
                progress(count, len(chunks))
        return collected.summary()
    finally:
        if own:
            client.close()
