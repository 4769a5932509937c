"""FastAPI dependencies: a database session per request and the authenticated actor."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from critmin.service.access import Actor
from critmin.service.auth import actor_for_token
from critmin.service.schemas import ErrorOut

bearer = HTTPBearer(auto_error=False, description="An API token: `critmin db create-user`")


def get_session(request: Request) -> Iterator[Session]:
    """A session for this request; writes (POST, PATCH, DELETE) take the write lock at once."""
    factories = request.app.state.sessions
    factory = factories.read if request.method in ("GET", "HEAD") else factories.write
    with factory() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def get_actor(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Actor:
    """The user of the bearer token; 401 when it is missing or unknown."""
    actor = None if credentials is None else actor_for_token(session, credentials.credentials)
    if actor is None:
        raise HTTPException(
            401, "missing or unknown bearer token", headers={"WWW-Authenticate": "Bearer"}
        )
    return actor


ActorDep = Annotated[Actor, Depends(get_actor)]


def require_writer(actor: ActorDep) -> Actor:
    """The actor, if allowed to write (editor or admin); 403 otherwise."""
    if not actor.can_write:
        raise HTTPException(403, f"user {actor.name!r} is a {actor.role}: writing needs editor")
    return actor


def require_admin(actor: ActorDep) -> Actor:
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
