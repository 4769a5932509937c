"""FastAPI dependencies: a database session per request and the authenticated actor."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from critmin.service.access import Actor
from critmin.service.auth import actor_for_token
from critmin.service.schemas import ErrorOut

TOKEN_CACHE_S = 60.0
bearer = HTTPBearer(auto_error=False, description="An API token: `critmin db create-user`")


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A session for this request; writes (POST, PATCH, DELETE) take the write lock at once.

    On SQLite the app's writers also queue on an in-process lock, so a waiting writer starts
    as soon as the previous one commits instead of sleeping in SQLite's busy handler.
    Opening a session does no I/O (it connects on first use, in the route's worker thread).
    """
    state = request.app.state
    if request.method in ("GET", "HEAD"):
        session = state.sessions.read()
        try:
            yield session
        finally:
            await run_in_threadpool(session.close)
        return
    async with state.write_lock:
        session = state.sessions.write()
        try:
            yield session
        finally:
            await run_in_threadpool(session.close)


SessionDep = Annotated[Session, Depends(get_session)]


async def get_actor(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Actor:
    """The user of the bearer token; 401 when it is missing or unknown.

    Known tokens are remembered for :data:`TOKEN_CACHE_S` seconds (users and tokens are
    never changed or deleted through the API), so most requests skip the lookup.
    """
    actor = None
    if credentials is not None:
        cache: dict[str, tuple[float, Actor]] = request.app.state.token_cache
        key = credentials.credentials
        cached = cache.get(key)
        if cached is not None and cached[0] > time.monotonic():
            actor = cached[1]
        else:
            actor = await run_in_threadpool(actor_for_token, session, key)
            if actor is not None:
                cache[key] = (time.monotonic() + TOKEN_CACHE_S, actor)
    if actor is None:
        raise HTTPException(
            401, "missing or unknown bearer token", headers={"WWW-Authenticate": "Bearer"}
        )
    return actor


ActorDep = Annotated[Actor, Depends(get_actor)]


async def require_writer(actor: ActorDep) -> Actor:
    """The actor, if allowed to write (editor or admin); 403 otherwise."""
    if not actor.can_write:
        raise HTTPException(403, f"user {actor.name!r} is a {actor.role}: writing needs editor")
    return actor


async def require_admin(actor: ActorDep) -> Actor:
    """The actor, if an admin of their party; 403 otherwise."""
    if not actor.is_admin:
        raise HTTPException(403, f"user {actor.name!r} is a {actor.role}: this needs admin")
    return actor


WriterDep = Annotated[Actor, Depends(require_writer)]
AdminDep = Annotated[Actor, Depends(require_admin)]


def field_error(field: str | int, value: Any, reason: str, where: str = "body") -> HTTPException:
    """A 422 in FastAPI's validation format naming ``field``, ``value`` and the reason."""
    return HTTPException(
        422,
        [{"type": "value_error", "loc": [where, field], "msg": reason, "input": value}],
    )


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "missing or unknown token"},
    403: {"model": ErrorOut, "description": "the user's role does not allow this"},
    404: {"model": ErrorOut, "description": "no such record visible to the caller"},
    409: {"model": ErrorOut, "description": "the write conflicts with other records"},
}
