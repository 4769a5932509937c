"""The simulation engine from the dashboard: shipped scenarios, run as small ensembles."""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel

from critmin.errors import CritminError
from critmin.service.deps import ERROR_RESPONSES, ActorDep

router = APIRouter(responses=ERROR_RESPONSES, tags=["simulation"])
ENGINE_MODULE = "critmin.simulation"
ALLIANCE = ("US-JP", ("USA", "JPN"))
MAX_SAMPLES = 500


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


@router.get("/simulation/scenarios", response_model=list[ScenarioInfo], summary="Scenarios")
def simulation_scenarios(actor: ActorDep) -> list[dict[str, str]]:
    """The example scenarios shipped with this installation."""
    from critmin.simulation import load_scenario
    from critmin.simulation.examples import shipped_scenarios

    rows = []
    for path in shipped_scenarios():
        scenario = load_scenario(path)
        rows.append(
            {"name": path.stem, "title": scenario.name, "description": scenario.description or ""}
        )
    return rows


def _band(data: Any) -> dict[str, list[float | None]]:
    def values(q: float) -> list[float | None]:
        return [None if v != v else float(v) for v in data.sel(quantile=q).to_numpy()]

    return {"p5": values(0.05), "p50": values(0.5), "p95": values(0.95)}


@lru_cache(maxsize=32)
def _run(name: str, samples: int, seed: int) -> dict[str, Any]:
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


@router.get("/simulation/run", response_model=SimulationRun, summary="Run a shipped scenario")
async def simulation_run(
    actor: ActorDep,
    scenario: Annotated[str, Query(description="scenario name from /simulation/scenarios")],
    samples: Annotated[int, Query(ge=1, le=MAX_SAMPLES, description="ensemble draws")] = 100,
    seed: Annotated[int, Query(ge=0, le=2**31 - 1, description="ensemble seed")] = 0,
) -> dict[str, Any]:
    """Sample the scenario and return monthly P5/P50/P95 paths for the alliance and China."""
    if not _installed():
        raise HTTPException(status_code=404, detail="engine not installed")
    try:
        return await run_in_threadpool(_run, scenario, samples, seed)
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
