"""Tokens and dashboard sessions: issue, list, rotate, revoke; sign in and out.

Every answer that carries a token is ``Cache-Control: no-store`` (the guard sets it on all
of ``/api``). The dashboard signs in by exchanging an API token once for a session: an
HttpOnly, SameSite=Strict cookie the page's scripts cannot read, plus a CSRF token the page
keeps in memory and sends with every write; nothing long-lived is left in the browser.
"""

import datetime as dt
import uuid
from typing import Annotated, Any

from fastapi import HTTPException, Path, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select

from critmin.service.access import Actor
from critmin.service.auth import audit_token, csrf_token, issue_token, revoke_token
from critmin.service.deps import (
    ERROR_RESPONSES,
    ActorDep,
    AdminDep,
    Router,
    SessionDep,
    authenticate,
    commit,
)
from critmin.service.guard import SESSION_COOKIE
from critmin.service.models import ApiToken, User, as_dict
from critmin.service.routes.admin import own_user
from critmin.service.schemas import SessionIn, SessionOut, TokenInfo, TokenOut
from critmin.service.settings import Settings

router = Router(responses=ERROR_RESPONSES, tags=["credentials"])
UserIdPath = Annotated[uuid.UUID, Path(description="the user's id (a UUID)")]
TokenIdPath = Annotated[uuid.UUID, Path(description="the token's id (a UUID)")]


def _settings(request: Request) -> Settings:
    settings = request.app.state.settings
    assert isinstance(settings, Settings)
    return settings


def _new_api_token(session: Any, settings: Settings, actor: Actor, user: User) -> dict[str, Any]:
    token, row = issue_token(
        session,
        user.id,
        dt.timedelta(days=settings.api_token_days),
        keep=settings.max_tokens_per_user,
    )
    audit_token(session, actor, user, row, "create")
    commit(session)
    return {"user_id": user.id, "token_id": row.id, "token": token, "expires_at": row.expires_at}


@router.post(
    "/users/{user_id}/tokens",
    response_model=TokenOut,
    status_code=201,
    summary="Issue a token (shown once)",
)
def create_token(
    request: Request, session: SessionDep, actor: AdminDep, user_id: UserIdPath
) -> dict[str, Any]:
    """A new API token for an enabled user of the caller's party (admins only), valid for
    the server's token lifetime; a user's oldest live tokens beyond the per-user limit are
    revoked."""
    user = own_user(session, actor, user_id)
    if user.disabled_at is not None:
        raise HTTPException(409, f"user {user_id} is disabled")
    return _new_api_token(session, _settings(request), actor, user)


@router.get("/users/{user_id}/tokens", response_model=list[TokenInfo], summary="A user's tokens")
def list_tokens(session: SessionDep, actor: AdminDep, user_id: UserIdPath) -> list[dict[str, Any]]:
    """Metadata of a user's tokens and sessions (admins of the user's party)."""
    user = own_user(session, actor, user_id)
    rows = session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at)
    )
    return [as_dict(row) for row in rows]


@router.post("/tokens/rotate", response_model=TokenOut, status_code=201, summary="Rotate")
def rotate(request: Request, session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    """Replace the API token of this request by a new one: the old one stops working now."""
    if actor.via_session or actor.token_id is None:
        raise HTTPException(403, "rotate an API token with the token itself, not a session")
    user = session.get(User, actor.user_id)
    assert user is not None
    old = session.get(ApiToken, actor.token_id)
    assert old is not None
    revoke_token(session, old.id)
    audit_token(session, actor, user, old, "revoke")
    return _new_api_token(session, _settings(request), actor, user)


@router.delete("/tokens/{token_id}", status_code=204, summary="Revoke a token")
def revoke(session: SessionDep, actor: ActorDep, token_id: TokenIdPath) -> Response:
    """Revoke a token or session: one's own, or (admins) one of a user of the same party.
    It stops working at once on every server process."""
    token = session.get(ApiToken, token_id)
    user = None if token is None else session.get(User, token.user_id)
    allowed = user is not None and (
        user.id == actor.user_id or (actor.is_admin and user.party_code == actor.party)
    )
    if token is None or user is None or not allowed:
        raise HTTPException(404, f"token {token_id} not found")
    if revoke_token(session, token.id):
        audit_token(session, actor, user, token, "revoke")
    commit(session)
    return Response(status_code=204)


def _secure(request: Request) -> bool:
    secure = _settings(request).secure_cookies
    return request.url.scheme == "https" if secure is None else secure


@router.post("/session", response_model=SessionOut, status_code=201, summary="Sign in")
async def sign_in(
    request: Request, response: Response, session: SessionDep, payload: SessionIn
) -> dict[str, Any]:
    """Exchange an API token for a dashboard session: an HttpOnly, SameSite=Strict cookie
    and the CSRF token to send as ``X-CSRF-Token`` with every write. Failed sign-ins count
    against the caller's address (429 once too many)."""
    actor = await authenticate(request, payload.token, "api")
    lifetime = dt.timedelta(hours=_settings(request).session_hours)
    token, out = await run_in_threadpool(_open_session, session, actor, lifetime)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(lifetime.total_seconds()),
        httponly=True,
        samesite="strict",
        secure=_secure(request),
        path="/",
    )
    return out


def _open_session(session: Any, actor: Actor, lifetime: dt.timedelta) -> tuple[str, dict[str, Any]]:
    """Issue and audit a session for ``actor``; the token and the answer's body."""
    user = session.get(User, actor.user_id)
    assert user is not None
    token, row = issue_token(session, user.id, lifetime, kind="session")
    audit_token(session, actor, user, row, "create")
    commit(session)
    body = {"user": as_dict(user), "csrf_token": csrf_token(token), "expires_at": row.expires_at}
    session.close()  # the connection back to the pool in this thread (see deps.releasing)
    return token, body


@router.get("/session", response_model=SessionOut, summary="The current session")
def current_session(request: Request, session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    """The signed-in user and the session's CSRF token (for a page reloaded mid-session)."""
    if not actor.via_session or actor.token_id is None:
        raise HTTPException(404, "no dashboard session: this request used an API token")
    cookie = request.cookies.get(SESSION_COOKIE, "")
    row = session.get(ApiToken, actor.token_id)
    user = session.get(User, actor.user_id)
    assert row is not None
    assert user is not None
    return {"user": as_dict(user), "csrf_token": csrf_token(cookie), "expires_at": row.expires_at}


@router.delete("/session", status_code=204, summary="Sign out")
def sign_out(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    """End the dashboard session (revoked in the database, cookie cleared)."""
    if actor.via_session and actor.token_id is not None:
        user = session.get(User, actor.user_id)
        token = session.get(ApiToken, actor.token_id)
        assert user is not None
        assert token is not None
        revoke_token(session, token.id)
        audit_token(session, actor, user, token, "revoke")
        commit(session)
    response = Response(status_code=204)
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="strict", secure=_secure(request)
    )
    return response
