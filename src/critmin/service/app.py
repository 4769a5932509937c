"""The registry's FastAPI application: API routes, OpenAPI schema and the dashboard."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine

from critmin.service.db import make_engine, sessions_for
from critmin.service.routes import admin, simulation
from critmin.service.routes.crud import entity_router
from critmin.service.routes.entities import SPECS

STATIC_DIR = Path(__file__).resolve().parent / "dashboard" / "static"


def create_app(url: str | None = None, engine: Engine | None = None) -> FastAPI:
    """The app on the database at ``url`` (or ``engine``); the schema must be migrated."""
    engine = engine or make_engine(url)
    app = FastAPI(
        title="critmin registry",
        version="1",
        description=(
            "The shared record of a critical-minerals framework: parties, projects, financing, "
            "milestones, commitments, stockpiles and the audit log. Each party sees shared "
            "records and its own confidential ones, never another party's."
        ),
    )
    app.state.engine = engine
    app.state.sessions = sessions_for(engine)
    app.state.token_cache = {}
    # SQLite has one writer at a time: queue this process's writers (PostgreSQL: no queue)
    app.state.write_lock = (
        asyncio.Lock() if engine.dialect.name == "sqlite" else contextlib.nullcontext()
    )
    app.include_router(admin.router, prefix="/api")
    app.include_router(simulation.router, prefix="/api")
    for spec in SPECS:
        app.include_router(entity_router(spec), prefix="/api")
    app.mount("/dashboard", StaticFiles(directory=STATIC_DIR, html=True), name="dashboard")

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/dashboard/")

    return app
