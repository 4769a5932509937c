"""The simulation engine from the dashboard: shipped scenarios, run as small ensembles.

Runs are expensive (up to a few CPU-seconds each), so they never run in the server's own
process: a :class:`SimulationQueue` sends them to a pool of worker processes (at lower CPU
priority) and bounds the work: at most :attr:`Settings.simulation_queue` runs in flight (more
answer 503 with ``Retry-After``), at most one per party at a time (a second answers 429),
and a run asked for while the same one is in flight waits for that one. Results are cached
per (scenario, samples, seed): every scenario is a shipped one, so the cache serves every
party, and the dashboard's default runs cost one computation each per server process.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import multiprocessing
import os
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from functools import cache
from typing import Annotated, Any

from fastapi import HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from critmin.errors import CritminError
from critmin.service.deps import ERROR_RESPONSES, ActorDep, Router

router = Router(responses=ERROR_RESPONSES, tags=["simulation"])
ENGINE_MODULE = "critmin.simulation"
ALLIANCE = ("US-JP", ("USA", "JPN"))
MAX_SAMPLES = 500
CACHED_RUNS = 32
WORKER_NICE = 5
RunKey = tuple[str, int, int]


class SimulationStatus(BaseModel):
    """Whether ``critmin.simulation`` can be imported, in words for the dashboard."""

    installed: bool
    detail: str


class ScenarioInfo(BaseModel):
    """A shipped example scenario."""

    name: str
    title: str
    description: str


class Band(BaseModel):
    """Monthly 5th, 50th and 95th percentiles across the ensemble."""

    p5: list[float | None]
    p50: list[float | None]
    p95: list[float | None]


class SimulationRun(BaseModel):
    """One scenario's ensemble at the alliance's most affected stage."""

    scenario: str
    description: str
    stage: str
    samples: int
    seed: int
    months: list[str]
    alliance: str
    alliance_shortfall_share: Band
    alliance_price_index: Band
    china_price_index: Band | None


def _installed() -> bool:
    return importlib.util.find_spec(ENGINE_MODULE) is not None


def _band(data: Any) -> dict[str, list[float | None]]:
    def values(q: float) -> list[float | None]:
        return [None if v != v else float(v) for v in data.sel(quantile=q).to_numpy()]

    return {"p5": values(0.05), "p50": values(0.5), "p95": values(0.95)}


def compute_run(name: str, samples: int, seed: int) -> dict[str, Any]:
    """One ensemble run of a shipped scenario (in a worker process)."""
    from critmin.simulation import load_scenario
    from critmin.simulation.examples import shipped_scenario
    from critmin.simulation.paths import ensemble_paths

    scenario = load_scenario(shipped_scenario(name))
    label, members = ALLIANCE
    data = ensemble_paths(scenario, samples, seed, groups={label: members})
    allied = data.sel(country=label)
    worst = allied["shortfall_share"].sel(quantile=0.5).max("month").fillna(-1)
    stage = str(worst.idxmax("stage").item())
    china = (
        _band(data["price_index"].sel(country="CHN", stage=stage))
        if "CHN" in data["country"]
        else None
    )
    return {
        "scenario": name,
        "description": scenario.description or "",
        "stage": stage,
        "samples": samples,
        "seed": seed,
        "months": [str(m) for m in data["month"].to_numpy()],
        "alliance": label,
        "alliance_shortfall_share": _band(allied["shortfall_share"].sel(stage=stage)),
        "alliance_price_index": _band(allied["price_index"].sel(stage=stage)),
        "china_price_index": china,
    }


def _lower_priority() -> None:
    """Worker initializer: yield the CPU to the API when both want it."""
    os.nice(WORKER_NICE)


def _process_pool(workers: int) -> Executor:
    """Worker processes (spawned: the server's threads are not forked) at lower priority."""
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_lower_priority,
    )


@cache
def shipped_names() -> frozenset[str]:
    """Names (file stems) of the scenarios shipped with this installation."""
    from critmin.simulation.examples import shipped_scenarios

    return frozenset(path.stem for path in shipped_scenarios())


class SimulationQueue:
    """Bounded, per-party-limited, cached simulation runs in worker processes."""

    def __init__(
        self,
        workers: int,
        capacity: int,
        compute: Callable[[str, int, int], dict[str, Any]] = compute_run,
        make_executor: Callable[[int], Executor] | None = None,
    ) -> None:
        self.workers = workers
        self.capacity = capacity
        self.compute = compute
        self.make_executor = make_executor or _process_pool
        self.executor: Executor | None = None
        self.inflight: dict[RunKey, asyncio.Future[dict[str, Any]]] = {}
        self.by_party: dict[str, RunKey] = {}
        self.results: OrderedDict[RunKey, dict[str, Any]] = OrderedDict()

    def _pool(self) -> Executor:
        if self.executor is None:
            self.executor = self.make_executor(self.workers)
        return self.executor

    def _finished(self, key: RunKey, party: str, future: Future[dict[str, Any]]) -> None:
        self.inflight.pop(key, None)
        if self.by_party.get(party) == key:
            del self.by_party[party]
        if not future.cancelled() and future.exception() is None:
            self.results[key] = future.result()
            while len(self.results) > CACHED_RUNS:
                self.results.popitem(last=False)

    async def run(self, party: str, key: RunKey) -> dict[str, Any]:
        """The result of run ``key`` for a user of ``party`` (429/503 when over limits)."""
        if key in self.results:
            self.results.move_to_end(key)
            return self.results[key]
        pending = self.inflight.get(key)
        if pending is None:
            if party in self.by_party:
                raise HTTPException(
                    429,
                    "your party already has a simulation running: wait for it to finish",
                    headers={"Retry-After": "5"},
                )
            if len(self.inflight) >= self.capacity:
                raise HTTPException(
                    503,
                    f"{len(self.inflight)} simulations are running or waiting: retry shortly",
                    headers={"Retry-After": "5"},
                )
            submitted = self._pool().submit(self.compute, *key)
            loop = asyncio.get_running_loop()

            def finished(done: Future[dict[str, Any]]) -> None:
                with contextlib.suppress(RuntimeError):  # the event loop has closed
                    loop.call_soon_threadsafe(self._finished, key, party, done)

            submitted.add_done_callback(finished)
            pending = asyncio.wrap_future(submitted)
            self.inflight[key] = pending
            self.by_party[party] = key
        return await asyncio.shield(pending)

    def close(self) -> None:
        """Stop the worker processes (queued runs are dropped)."""
        if self.executor is not None:
            self.executor.shutdown(wait=False, cancel_futures=True)
            self.executor = None


@router.get("/simulation/status", response_model=SimulationStatus, summary="Simulation engine")
def simulation_status(actor: ActorDep) -> dict[str, Any]:
    """Whether the simulation engine is installed (checked without importing it)."""
    installed = _installed()
    detail = (
        "The simulation engine is installed: choose a shipped scenario and run it."
        if installed
        else "engine not installed: this critmin has no critmin.simulation package yet."
    )
    return {"installed": installed, "detail": detail}


@cache
def _scenario_infos() -> tuple[dict[str, str], ...]:
    from critmin.simulation import load_scenario
    from critmin.simulation.examples import shipped_scenarios

    rows = []
    for path in shipped_scenarios():
        scenario = load_scenario(path)
        rows.append(
            {"name": path.stem, "title": scenario.name, "description": scenario.description or ""}
        )
    return tuple(rows)


@router.get("/simulation/scenarios", response_model=list[ScenarioInfo], summary="Scenarios")
def simulation_scenarios(actor: ActorDep) -> list[dict[str, str]]:
    """The example scenarios shipped with this installation."""
    return list(_scenario_infos())


@router.get("/simulation/run", response_model=SimulationRun, summary="Run a shipped scenario")
async def simulation_run(
    request: Request,
    actor: ActorDep,
    scenario: Annotated[str, Query(description="scenario name from /simulation/scenarios")],
    samples: Annotated[int, Query(ge=1, le=MAX_SAMPLES, description="ensemble draws")] = 100,
    seed: Annotated[int, Query(ge=0, le=2**31 - 1, description="ensemble seed")] = 0,
) -> dict[str, Any]:
    """Sample the scenario and return monthly P5/P50/P95 paths for the alliance and China.

    Cached per (scenario, samples, seed); one run per party at a time (429), a bounded
    number in all (503)."""
    if not _installed():
        raise HTTPException(status_code=404, detail="engine not installed")
    if scenario not in shipped_names():
        raise HTTPException(status_code=404, detail=f"no shipped scenario {scenario[:80]!r}")
    queue: SimulationQueue = request.app.state.simulations
    try:
        return await queue.run(actor.party, (scenario, samples, seed))
    except CritminError as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None


@router.get("/simulation/plotly.min.js", include_in_schema=False)
def plotly_js() -> Response:
    """Plotly's JavaScript from the installed plotly package (the dashboard needs no CDN)."""
    import plotly.offline

    return Response(
        plotly.offline.get_plotlyjs(),
        media_type="application/javascript",
        headers={"Cache-Control": "max-age=86400"},
    )
