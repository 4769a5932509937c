"""Credentials: API tokens and dashboard sessions, stored only as their SHA-256 digest.

A credential is valid while it is unexpired, unrevoked and its user is enabled; every
request looks it up in the database (no per-process cache), so a revocation or a disabled
user holds at once on every server process. A session's CSRF token is derived from the
session token itself (SHA-256 with a label), so it needs no storage and only the holder of
the HttpOnly cookie's value could compute it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from typing import Any

from sqlalchemy import ColumnElement, Connection, bindparam, select, update
from sqlalchemy.orm import Session

from critmin.service.access import Actor
from critmin.service.audit import record_write
from critmin.service.models import ApiToken, User, as_dict

TOKEN_BYTES = 32


def token_digest(token: str) -> str:
    """The SHA-256 hex digest a token is stored and looked up by."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def csrf_token(session_token: str) -> str:
    """The CSRF token that goes with a dashboard session (sent back in ``X-CSRF-Token``)."""
    return hashlib.sha256(b"critmin-csrf:" + session_token.encode("utf-8")).hexdigest()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def issue_token(
    session: Session,
    user_id: uuid.UUID,
    lifetime: dt.timedelta,
    kind: str = "api",
    keep: int | None = None,
) -> tuple[str, ApiToken]:
    """Create a credential for ``user_id`` valid for ``lifetime``; the token (shown once)
    and its row. With ``keep``, the user's oldest live credentials of this kind beyond
    ``keep - 1`` are revoked first, so a user never holds more than ``keep``."""
    now = _now()
    if keep is not None:
        live = session.scalars(
            select(ApiToken)
            .where(_live(now), ApiToken.user_id == user_id, ApiToken.kind == kind)
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        ).all()
        for old in live[keep - 1 :]:
            old.revoked_at = now
    token = secrets.token_urlsafe(TOKEN_BYTES)
    row = ApiToken(
        user_id=user_id,
        token_sha256=token_digest(token),
        kind=kind,
        created_at=now,
        expires_at=now + lifetime,
    )
    session.add(row)
    session.flush()
    return token, row


def _live(now: dt.datetime) -> ColumnElement[bool]:
    """SQL condition: a credential that is neither revoked nor expired at ``now``."""
    return (ApiToken.revoked_at.is_(None)) & (ApiToken.expires_at > now)


# built once (the SQL is compiled once too): one indexed lookup per request
_ACTOR_QUERY = (
    select(User.id, User.name, User.party_code, User.role, ApiToken.id.label("token_id"))
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(
        ApiToken.token_sha256 == bindparam("digest"),
        ApiToken.kind == bindparam("kind"),
        ApiToken.revoked_at.is_(None),
        ApiToken.expires_at > bindparam("now", type_=ApiToken.expires_at.type),
        User.disabled_at.is_(None),
    )
)


def actor_for_token(connection: Session | Connection, token: str, kind: str) -> Actor | None:
    """The user a live credential of ``kind`` belongs to; None when it is unknown,
    expired, revoked or its user is disabled (one indexed lookup)."""
    row = connection.execute(
        _ACTOR_QUERY, {"digest": token_digest(token), "kind": kind, "now": _now()}
    ).first()
    if row is None:
        return None
    return Actor(
        user_id=row.id,
        name=row.name,
        party=row.party_code,
        role=row.role,
        token_id=row.token_id,
        via_session=kind == "session",
    )


def _revoke(session: Session, condition: ColumnElement[bool]) -> int:
    result = session.execute(
        update(ApiToken)
        .where(condition, ApiToken.revoked_at.is_(None))
        .values(revoked_at=_now())
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def revoke_token(session: Session, token_id: uuid.UUID) -> bool:
    """Revoke one credential; whether it was live."""
    return bool(_revoke(session, ApiToken.id == token_id))


def revoke_user_tokens(session: Session, user_id: uuid.UUID) -> int:
    """Revoke every live credential of a user; how many."""
    return _revoke(session, ApiToken.user_id == user_id)


def disable_user(session: Session, user: User) -> int:
    """Disable a user and revoke their credentials; how many were revoked."""
    if user.disabled_at is None:
        user.disabled_at = _now()
    return revoke_user_tokens(session, user.id)


def user_state(user: User) -> dict[str, Any]:
    """A user as the audit log records it (confidential to the user's party)."""
    return {**as_dict(user), "visibility": "confidential", "owner_party": user.party_code}


def audit_token(session: Session, actor: Actor, user: User, token: ApiToken, action: str) -> None:
    """Audit the creation (``create``) or revocation (``revoke``) of a credential; the
    entry names the credential, never its value, and only the user's party sees it."""
    state = {
        "user_id": str(user.id),
        "token_id": str(token.id),
        "kind": token.kind,
        "visibility": "confidential",
        "owner_party": user.party_code,
    }
    before = None if action == "create" else state
    record_write(
        session, actor, "api_tokens", token.id, before, {**state, "revoked": action == "revoke"}
    )
