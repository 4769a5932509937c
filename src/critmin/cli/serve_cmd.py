"""``critmin serve``: run the registry's API and dashboard."""

from __future__ import annotations

from typing import Annotated

import typer

from critmin.cli import db_cmd
from critmin.errors import DataError


def serve(
    db: db_cmd.DbOption = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port.", min=1, max=65535)] = 8000,
    token_rate: Annotated[
        float, typer.Option("--token-rate", min=0.1, help="Requests/s per token or session.")
    ] = 20.0,
    address_rate: Annotated[
        float, typer.Option("--address-rate", min=0.1, help="Requests/s per client address.")
    ] = 300.0,
    max_inflight: Annotated[
        int, typer.Option("--max-inflight", min=1, help="Requests served at once; more get 503.")
    ] = 64,
    forwarded_allow_ips: Annotated[
        str | None,
        typer.Option(
            "--forwarded-allow-ips",
            help="Addresses of the reverse proxy whose X-Forwarded-For/-Proto to trust "
            "(the client's address for rate limits, https for Secure cookies).",
        ),
    ] = None,
    api_docs: Annotated[
        bool,
        typer.Option("--api-docs", help="Serve /docs and /redoc (their scripts load from a CDN)."),
    ] = False,
) -> None:
    """Serve the registry API (/api, schema at /openapi.json) and dashboard (/dashboard/).

    An older schema is migrated first (as the owner role; an application role cannot)."""
    import uvicorn

    from critmin.service.app import create_app, settle_memory
    from critmin.service.http_protocol import bounded_protocol
    from critmin.service.migrate import current_revision, head_revision, upgrade
    from critmin.service.settings import Settings

    engine = db_cmd.open_database(db)
    if current_revision(engine) != head_revision():
        try:
            upgrade(engine)
        except Exception as exc:  # e.g. the application role may not create tables
            raise DataError(
                f"database at revision {current_revision(engine)!r}, newest "
                f"{head_revision()!r}: run `critmin db upgrade` as the role owning the tables "
                f"({type(exc).__name__})"
            ) from None
    settings = Settings(
        token_rate=token_rate,
        token_burst=3 * token_rate,
        address_rate=address_rate,
        address_burst=2 * address_rate,
        max_inflight=max_inflight,
        api_docs=api_docs,
    )
    typer.echo(
        f"critmin registry at http://{host}:{port}/dashboard/ (API under /api, schema at "
        f"/openapi.json)\nsign in with an API token: critmin db create-user NAME --party "
        "CODE --role editor  (prints the token once)"
    )
    app = create_app(engine=engine, settings=settings)
    settle_memory()
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="warning",
        http=bounded_protocol(settings.max_header_bytes),
        proxy_headers=forwarded_allow_ips is not None,
        forwarded_allow_ips=forwarded_allow_ips,
        server_header=False,
    )

