"""The operator's account commands (``critmin db create-user``, ``revoke-token``,
``disable-user``): they act on the database directly, each write audited with
``critmin-cli`` as its author, and take effect at once on every server process."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from critmin.errors import InputError
from critmin.service.access import Actor
from critmin.service.audit import record_write
from critmin.service.auth import (
    audit_token,
    disable_user,
    issue_token,
    revoke_token,
    token_digest,
    user_state,
)
from critmin.service.db import write_transaction
from critmin.service.models import ROLES, ApiToken, Party, User
from critmin.service.settings import Settings

CLI_NAME = "critmin-cli"


def _cli(party: str) -> Actor:
    return Actor(user_id=None, name=CLI_NAME, party=party, role="admin")


def _find_user(session: Session, name: str, party: str) -> User:
    user = session.scalars(select(User).where(User.name == name, User.party_code == party)).first()
    if user is None:
        raise InputError(f"no user {name!r} in party {party}")
    return user


def create_user(
    engine: Engine, name: str, party: str, role: str, settings: Settings | None = None
) -> str:
    """Create a user of ``party`` with ``role`` and return a new API token for them (valid
    for :attr:`Settings.api_token_days`)."""
    settings = settings or Settings()
    if role not in ROLES:
        raise InputError(f"role {role!r} is not one of {', '.join(ROLES)}")
    with write_transaction(engine) as session:
        if session.get(Party, party) is None:
            raise InputError(f"party {party!r} does not exist: run `critmin db seed` first")
        taken = select(User.id).where(User.name == name, User.party_code == party)
        if session.scalar(taken) is not None:
            raise InputError(f"user name {name!r} is taken in party {party}")
        user = User(name=name, party_code=party, role=role)
        session.add(user)
        session.flush()
        record_write(session, _cli(party), "users", user.id, None, user_state(user))
        token, row = issue_token(session, user.id, dt.timedelta(days=settings.api_token_days))
        audit_token(session, _cli(party), user, row, "create")
        return token


def revoke_tokens(
    engine: Engine,
    token_id: uuid.UUID | None = None,
    token: str | None = None,
    user: tuple[str, str] | None = None,
) -> int:
    """Revoke one token (by id or by its value) or every token of ``user`` = (name,
    party); how many live tokens were revoked."""
    with write_transaction(engine) as session:
        if user is not None:
            owner = _find_user(session, *user)
            rows = list(session.scalars(select(ApiToken).where(ApiToken.user_id == owner.id)))
        else:
            query = (
                select(ApiToken).where(ApiToken.id == token_id)
                if token_id is not None
                else select(ApiToken).where(ApiToken.token_sha256 == token_digest(token or ""))
            )
            rows = list(session.scalars(query))
            if not rows:
                raise InputError("no such token (check the id, or the token's value)")
        revoked = 0
        for row in rows:
            if revoke_token(session, row.id):
                holder = session.get(User, row.user_id)
                assert holder is not None
                audit_token(session, _cli(holder.party_code), holder, row, "revoke")
                revoked += 1
        return revoked


def disable_user_named(engine: Engine, name: str, party: str) -> int:
    """Disable a user and revoke all their tokens; how many tokens were revoked."""
    with write_transaction(engine) as session:
        user = _find_user(session, name, party)
        before = user_state(user)
        revoked = disable_user(session, user)
        session.flush()
        record_write(session, _cli(party), "users", user.id, before, user_state(user))
        return revoked
