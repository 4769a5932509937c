"""The registry's FastAPI application: API routes, OpenAPI schema and the dashboard."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import AsyncIterator
from pathlib import Path

import anyio.to_thread
from fastapi import Depends, FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine

from critmin.service import handlers
from critmin.service.db import make_engine, sessions_for
from critmin.service.deps import WriteQueue
from critmin.service.guard import Guard, Limits
from critmin.service.routes import admin, credentials, simulation
from critmin.service.routes.crud import entity_router
from critmin.service.routes.entities import SPECS
from critmin.service.settings import Settings

STATIC_DIR = Path(__file__).resolve().parent / "dashboard" / "static"


def create_app(
    url: str | None = None, engine: Engine | None = None, settings: Settings | None = None
) -> FastAPI:
    """The app on the database at ``url`` (or ``engine``); the schema must be migrated.

    The app is wrapped in a :class:`~critmin.service.guard.Guard` (admission, rate and body
    limits, security headers); ``app.state.guard`` holds its counters (:class:`Limits`).
    """
    engine = engine or make_engine(url)
    settings = settings or Settings()
    queue = simulation.SimulationQueue(settings.simulation_workers, settings.simulation_queue)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # few threads for the routes' database work: many CPU-bound threads would starve
        # the event loop of the GIL, and requests would wait there, past admission control
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.worker_threads
        yield
        queue.close()

    docs = settings.api_docs
    app = FastAPI(
        title="critmin registry",
        version="2",
        description=(
            "The shared record of a critical-minerals framework: parties, projects, financing, "
            "milestones, commitments and their follow-up, stockpiles and the audit log. Each "
            "party sees shared records and its own confidential ones, never another party's."
        ),
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        lifespan=lifespan,
        dependencies=[Depends(handlers.single_query_values)],
    )
    app.state.engine = engine
    app.state.sessions = sessions_for(engine)
    app.state.settings = settings
    app.state.simulations = queue
    # SQLite has one writer at a time: queue this process's writers (PostgreSQL: no queue)
    app.state.write_queue = WriteQueue(engine.dialect.name == "sqlite", settings.max_write_queue)
    handlers.install(app)
    app.include_router(admin.router, prefix="/api")
    app.include_router(credentials.router, prefix="/api")
    app.include_router(simulation.router, prefix="/api")
    for spec in SPECS:
        app.include_router(entity_router(spec), prefix="/api")
    app.mount("/dashboard", StaticFiles(directory=STATIC_DIR, html=True), name="dashboard")

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/dashboard/")

    app.state.guard = Limits(settings)
    app.add_middleware(Guard, limits=app.state.guard)
    return app


def settle_memory() -> None:
    """Before serving: load what the first requests would (the curated project names),
    then move every object alive now out of the garbage collector's way (``gc.freeze``).

    Otherwise each full collection walks the whole heap (pandas and the app included):
    pauses of 70-160 ms, every few seconds under load, all requests stalled, were the
    registry's worst latencies.
    """
    from critmin.service.routes.entities import curated_project_names

    curated_project_names()
    gc.collect()
    gc.freeze()
