"""Run a scenario: one central run, or an ensemble of sampled scenarios in chunks.

Chunk ``i`` of an ensemble always holds scenarios ``i * chunk_size ...`` and draws them from
``SeedSequence(seed, spawn_key=(i,))``, so results do not depend on how many workers run the
chunks, nor where (local processes or a Dask cluster): same seed, bit-identical results.
Both back-ends (``compiled``, ``exact``) clear the same market (``critmin.market``).
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
from critmin.errors import InfeasibleError, InputError
from critmin.market.params import parameter_table
from critmin.market.result import MarketResult
from critmin.market.run import run_scenario
from critmin.simulation.model import ScenarioModel, drivers, scenario_model
from critmin.simulation.scenario import Scenario
from critmin.simulation.series import central_dataset, kernel_inputs, summarize_trace
from critmin.simulation.shocks import build_shocks
from critmin.simulation.summary import Summary, SummaryCollector

Engine = Literal["compiled", "exact"]
ENGINES = ("compiled", "exact")
CHUNK_SIZE = 2048
CONNECT_TIMEOUT_S = 10
Progress = Callable[[int, int], None]


def _engine(name: str) -> str:
    if name not in ENGINES:
        raise InputError(f"engine {name!r}: valid engines are {', '.join(ENGINES)}")
    return name


def manifest(
    scenario: Scenario, engine: str, samples: int | None, seed: int | None, **extra: Any
) -> dict[str, Any]:
    """What produced a result: scenario, engine, seed, data and code versions, parameters."""
    model = scenario_model(scenario)
    market = model.market
    table = parameter_table().set_index("name")["value"].to_dict()
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
        "parameters": {**table, **scenario.parameters},
        "calibration_notes": market.notes,
        **extra,
    }


def simulate(scenario: Scenario, engine: Engine = "compiled") -> MarketResult:
    """The central run of ``scenario`` (distributions at their central values), month by month."""
    _engine(engine)
    model = scenario_model(scenario)
    shocks = build_shocks(scenario, model.market, 1, None)
    trace = run_scenario(model.chain, drivers(shocks), engine)
    return MarketResult(
        data=central_dataset(model, trace, drivers(shocks), scenario.horizon.labels()),
        manifest=manifest(scenario, engine, None, None),
        kind="central",
    )


def run_chunk(
    scenario_json: str, engine: str, seed: int, index: int, size: int, out: Summary | None = None
) -> Summary:
    """Scenarios ``index * CHUNK_SIZE ...`` (``size`` of them) of an ensemble; picklable.
    Written into ``out`` (``size`` rows, zero-filled) when given."""
    scenario = Scenario.model_validate_json(scenario_json)
    model = scenario_model(scenario)
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(index,))))
    shocks = build_shocks(scenario, model.market, size, rng)
    if out is None:
        out = Summary.zeros(size, model.market.n_stages, model.market.n_regions)
    run_shocks(model, shocks, engine, out)
    return out


def run_shocks(
    model: ScenarioModel, shocks: Any, engine: str, out: Summary, paths: tuple[Any, ...] = ()
) -> None:
    """Every scenario of ``shocks`` into ``out`` (and ``paths``: reference, consumption,
    unmet need, demand given up and price index [n, month, stage, region], when given)."""
    if not paths:
        empty = np.zeros((0, 0, 0, 0))
        paths = (empty, empty, empty, empty, empty)
    if engine == "compiled":
        # imported here: importing critmin does not load numba
        from critmin.market.kernel import run_chunk as compiled_chunk

        compiled_chunk(*kernel_inputs(model, shocks), out.fields(), paths)  # type: ignore[call-arg]
        if (out.steps < 0).any():
            bad = int(np.flatnonzero(out.steps < 0)[0])
            raise InfeasibleError(f"compiled back-end: scenario {bad} of the chunk did not clear")
        return
    for j in range(shocks.n):
        d = drivers(shocks, j)
        trace = run_scenario(model.chain, d, "exact")
        summarize_trace(model, trace, d, j, out, paths)


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
    engine: Engine = "compiled",
    workers: int = 1,
    scheduler: str | None = None,
    chunk_size: int = CHUNK_SIZE,
    progress: Progress | None = None,
) -> MarketResult:
    """``samples`` sampled scenarios: in this process, ``workers`` local processes, or on the
    Dask cluster at ``scheduler`` (``tcp://host:port``, or a ``distributed.Client``)."""
    if samples < 1:
        raise InputError(f"samples {samples}: must be at least 1")
    if workers < 1:
        raise InputError(f"workers {workers}: must be at least 1")
    _engine(engine)
    model = scenario_model(scenario)  # validate events before any worker starts
    text = scenario.model_dump_json()
    chunks = _chunks(samples, chunk_size)
    n_s, n_r = model.market.n_stages, model.market.n_regions
    if scheduler is not None:
        summary = _run_dask(scheduler, text, engine, seed, chunks, chunk_size, samples, progress)
    else:
        summary = _run_local(text, engine, seed, chunks, chunk_size, (n_s, n_r), workers,
                             progress)
    where = f"dask {scheduler}" if scheduler is not None else f"{workers} local process(es)"
    market = model.market
    data = summary.dataset(market.stages, market.regions, market.units)
    absent = model.chain.layout.use_node < 0  # no node at that stage: no price (NaN)
    for name in ("peak_price_index", "mean_price_index"):
        data[name] = data[name].where(~absent)
    data["base_price"] = ("stage", market.base_price, {"units": "USD/t"})
    return MarketResult(
        data=data,
        manifest=manifest(scenario, engine, samples, seed, executed_on=where),
        kind="ensemble",
    )


def _run_local(
    text: str,
    engine: str,
    seed: int,
    chunks: list[tuple[int, int]],
    chunk_size: int,
    shape: tuple[int, int],
    workers: int,
    progress: Progress | None,
) -> Summary:
    """Chunks in this process, or in ``workers`` forked processes that write their rows of
    one summary in shared memory (no results pickled back); where processes cannot be
    forked, results come back pickled."""
    global _SHARED
    samples = sum(size for _, size in chunks)
    n_s, n_r = shape
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
    if engine == "compiled":
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
