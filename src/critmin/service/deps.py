"""FastAPI dependencies: a database session per request and the authenticated actor."""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from critmin.service.access import Actor
from critmin.service.auth import actor_for_token, csrf_token
from critmin.service.guard import SESSION_COOKIE, Limits, client_address
from critmin.service.handlers import short_input
from critmin.service.schemas import ErrorOut

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
CSRF_HEADER = "X-CSRF-Token"
bearer = HTTPBearer(auto_error=False, description="An API token: `critmin db create-user`")
session_cookie = APIKeyCookie(
    name=SESSION_COOKIE,
    auto_error=False,
    description="A dashboard session (POST /api/session); writes also need the "
    f"`{CSRF_HEADER}` header",
)


class WriteQueue:
    """The writers of this process waiting for their turn (SQLite has one writer at a time;
    on PostgreSQL the lock is never contended): at most ``limit`` wait, more answer 503."""

    def __init__(self, serialise: bool, limit: int) -> None:
        self.lock: asyncio.Lock | _FreeLock = asyncio.Lock() if serialise else _FreeLock()
        self.limit = limit
        self.waiting = 0


class _FreeLock:
    """A lock that is always free (PostgreSQL's writers need no queue)."""

    async def acquire(self) -> bool:
        return True

    def release(self) -> None:
        return None


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A session for this request; writes (POST, PATCH, DELETE) take the write lock at once.

    On SQLite the app's writers also queue on an in-process lock, so a waiting writer starts
    as soon as the previous one commits instead of sleeping in SQLite's busy handler, and
    the queue is bounded (:attr:`Settings.max_write_queue`; 503 beyond), so under overload
    writes are refused at once rather than wait behind each other without bound. Opening a
    session does no I/O (it connects on first use, in the route's worker thread).
    """
    state = request.app.state
    if request.method in SAFE_METHODS:
        session = state.sessions.read()
        try:
            yield session
        finally:
            session.close()  # a no-op: the route closed it in its thread (Router)
        return
    queue: WriteQueue = state.write_queue
    if queue.waiting >= queue.limit:
        raise HTTPException(
            503, "too many writes waiting: retry shortly", headers={"Retry-After": "1"}
        )
    queue.waiting += 1
    try:
        await queue.lock.acquire()
    finally:
        queue.waiting -= 1
    try:
        session = state.sessions.write()
        try:
            yield session
        finally:
            session.close()  # a no-op: the route closed it in its thread (Router)
    finally:
        queue.lock.release()


SessionDep = Annotated[Session, Depends(get_session)]


def unauthorized(detail: str = "missing, unknown, expired or revoked credential") -> HTTPException:
    """401 with the bearer challenge."""
    return HTTPException(401, detail, headers={"WWW-Authenticate": "Bearer"})


def too_many(wait: float, detail: str) -> HTTPException:
    """429 with ``Retry-After`` in whole seconds."""
    return HTTPException(429, detail, headers={"Retry-After": str(max(1, round(wait + 0.5)))})


def _lookup(engine: Engine, token: str, kind: str) -> Actor | None:
    """The credential's actor, on a connection of its own: it goes back to the pool at
    once, not after the request (no connection is held while a request waits)."""
    with engine.connect() as connection:
        return actor_for_token(connection, token, kind)


async def authenticate(request: Request, token: str, kind: str) -> Actor:
    """The actor of a credential; 401 (counted against the caller's address) when it is
    not live, 429 once the address has failed too often."""
    guard: Limits = request.app.state.guard
    address = client_address(request.scope)
    wait = guard.auth_blocked(address)
    if wait:
        raise too_many(wait, "too many failed sign-ins from this address")
    actor = await run_in_threadpool(_lookup, request.app.state.engine, token, kind)
    if actor is None:
        guard.auth_failed(address)
        raise unauthorized()
    return actor


async def get_actor(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    cookie: Annotated[str | None, Depends(session_cookie)],
) -> Actor:
    """The user of the bearer token, else of the session cookie; 401 when neither is live.

    A request made with the session cookie that changes something must also carry the
    session's CSRF token in ``X-CSRF-Token`` (403 otherwise): a page on another site can
    make the browser send the cookie, but cannot read the CSRF token.
    """
    if credentials is not None:
        return await authenticate(request, credentials.credentials, "api")
    if cookie:
        actor = await authenticate(request, cookie, "session")
        if request.method not in SAFE_METHODS:
            sent = request.headers.get(CSRF_HEADER, "")
            if sent != csrf_token(cookie):
                raise HTTPException(403, f"missing or wrong {CSRF_HEADER} header")
        return actor
    raise unauthorized("missing credential: send `Authorization: Bearer TOKEN`")


ActorDep = Annotated[Actor, Depends(get_actor)]


async def require_writer(actor: ActorDep) -> Actor:
    """The actor, if allowed to write (editor, admin or framework); 403 otherwise."""
    if not actor.can_write:
        raise HTTPException(403, f"user {actor.name!r} is a {actor.role}: writing needs editor")
    return actor


async def require_admin(actor: ActorDep) -> Actor:
    """The actor, if an admin of their party (or a framework administrator); 403 otherwise."""
    if not actor.is_admin:
        raise HTTPException(403, f"user {actor.name!r} is a {actor.role}: this needs admin")
    return actor


async def require_framework(actor: ActorDep) -> Actor:
    """The actor, if a framework administrator; 403 otherwise."""
    if not actor.is_framework:
        raise HTTPException(
            403, f"user {actor.name!r} is a {actor.role}: this needs a framework administrator"
        )
    return actor


WriterDep = Annotated[Actor, Depends(require_writer)]
AdminDep = Annotated[Actor, Depends(require_admin)]
FrameworkDep = Annotated[Actor, Depends(require_framework)]


def field_error(field: str | int, value: Any, reason: str, where: str = "body") -> HTTPException:
    """A 422 in FastAPI's validation format naming ``field``, ``value`` and the reason."""
    return HTTPException(
        422,
        [
            {
                "type": "value_error",
                "loc": [where, field],
                "msg": reason,
                "input": short_input(value),
            }
        ],
    )


def refused(status: int, field: str, reason: str) -> HTTPException:
    """A 403, 404 or 409 whose one-line detail names the field: ``"<field>: <reason>"``.

    403: the caller may not do this; 404: a record it names does not exist for the caller
    (or is invisible to it: the same answer); 409: it conflicts with the records' state.
    """
    return HTTPException(status, f"{field}: {reason}")


def commit(session: Session, flush_only: bool = False) -> None:
    """Commit (or flush), turning a constraint violation into 409 and rolling back.

    The database's message may name records of other parties: say only what happened.
    """
    try:
        session.flush() if flush_only else session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise HTTPException(
            409, "the write conflicts with another record (already exists or still referred to)"
        ) from exc


def releasing(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """``endpoint`` (a sync route) closing its session in its own worker thread as it
    returns: the pooled connection goes back at once, not when the event loop gets round to
    the dependency's teardown (under load that wait held every connection of the pool)."""

    @functools.wraps(endpoint)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return endpoint(*args, **kwargs)
        finally:
            for value in kwargs.values():
                if isinstance(value, Session):
                    value.close()

    return wrapper


class Router(APIRouter):
    """An APIRouter whose sync routes release their database connection as they return."""

    def add_api_route(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if not inspect.iscoroutinefunction(endpoint):
            endpoint = releasing(endpoint)
        super().add_api_route(path, endpoint, **kwargs)


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "the request body cannot be parsed (not UTF-8 JSON)"},
    401: {"model": ErrorOut, "description": "missing, unknown, expired or revoked credential"},
    403: {"model": ErrorOut, "description": "the user's role does not allow this"},
    404: {"model": ErrorOut, "description": "no such record visible to the caller"},
    409: {"model": ErrorOut, "description": "the write conflicts with other records"},
    413: {"model": ErrorOut, "description": "the request body is too large"},
    429: {"model": ErrorOut, "description": "too many requests: retry after Retry-After s"},
    503: {"model": ErrorOut, "description": "the server is at capacity: retry shortly"},
}
