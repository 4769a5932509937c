"""API tokens: random bearer tokens, stored only as their SHA-256 hex digest."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from critmin.service.access import Actor
from critmin.service.models import ApiToken, User

TOKEN_BYTES = 32


def token_digest(token: str) -> str:
    """The SHA-256 hex digest a token is stored and looked up by."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(session: Session, user_id: int) -> str:
    """Create a token for ``user_id``, store its digest in ``session``, return the token."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    session.add(
        ApiToken(
            user_id=user_id, token_sha256=token_digest(token), created_at=dt.datetime.now(dt.UTC)
        )
    )
    return token


def actor_for_token(session: Session, token: str) -> Actor | None:
    """The user a token belongs to, or None for an unknown token."""
    row = session.execute(
        select(User.id, User.name, User.party_code, User.role)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.token_sha256 == token_digest(token))
    ).first()
    if row is None:
        return None
    return Actor(user_id=row.id, name=row.name, party=row.party_code, role=row.role)
