"""Whether the disruption-simulation engine is installed (it lives in another package part)."""

import importlib.util
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from critmin.service.deps import ERROR_RESPONSES, ActorDep

router = APIRouter(responses=ERROR_RESPONSES, tags=["simulation"])
ENGINE_MODULE = "critmin.simulation"


class SimulationStatus(BaseModel):
    """Whether ``critmin.simulation`` can be imported, in words for the dashboard."""

    installed: bool
    detail: str


@router.get("/simulation/status", response_model=SimulationStatus, summary="Simulation engine")
def simulation_status(actor: ActorDep) -> dict[str, Any]:
    """Whether the simulation engine is installed (checked without importing it)."""
    installed = importlib.util.find_spec(ENGINE_MODULE) is not None
    detail = (
        "The simulation engine is installed: run scenarios with `critmin simulate`."
        if installed
        else "engine not installed: this critmin has no critmin.simulation package yet."
    )
    return {"installed": installed, "detail": detail}
