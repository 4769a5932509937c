"""``critmin serve``: run the registry's API and dashboard."""

from __future__ import annotations

from typing import Annotated

import typer

from critmin.cli import db_cmd


def serve(
    db: db_cmd.DbOption = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port.", min=1, max=65535)] = 8000,
) -> None:
    """Serve the registry API (/docs) and dashboard (/dashboard/), migrating the schema first."""
    import uvicorn

    from critmin.service.app import create_app
    from critmin.service.migrate import upgrade

    engine = db_cmd.open_database(db)
    upgrade(engine)
    uvicorn.run(create_app(engine=engine), host=host, port=port, log_level="warning")

