"""Parties, users, the audit log and the financing totals."""

import uuid
from typing import Annotated, Any

from fastapi import HTTPException, Path, Query
from sqlalchemy import func, select

from critmin.service.access import Actor, visible_to
from critmin.service.audit import record_write
from critmin.service.auth import disable_user, user_state
from critmin.service.deps import (
    ERROR_RESPONSES,
    ActorDep,
    AdminDep,
    FrameworkDep,
    Router,
    SessionDep,
    commit,
    refused,
)
from critmin.service.models import AuditEntry, FinancingDecision, Party, User, as_dict
from critmin.service.schemas import (
    AuditOut,
    Filter,
    FinancingTotal,
    Iso3,
    Page,
    PartyIn,
    PartyOut,
    UserIn,
    UserOut,
)

router = Router(responses=ERROR_RESPONSES)
UserIdPath = Annotated[uuid.UUID, Path(description="the user's id (a UUID)")]
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=2_147_483_647)]


def own_user(session: Any, actor: Actor, user_id: uuid.UUID) -> User:
    """A user of the caller's party; 404 for any other (same as a missing one)."""
    user = session.get(User, user_id)
    if user is None or user.party_code != actor.party:
        raise HTTPException(404, f"user {user_id} not found")
    assert isinstance(user, User)
    return user


@router.get("/me", response_model=UserOut, tags=["users"], summary="The caller")
def me(session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    """The authenticated user."""
    user = session.get(User, actor.user_id)
    assert user is not None
    return as_dict(user)


@router.get("/parties", response_model=list[PartyOut], tags=["parties"], summary="All parties")
def list_parties(session: SessionDep, actor: ActorDep) -> list[dict[str, Any]]:
    """Every party (parties are public to all users)."""
    return [as_dict(p) for p in session.scalars(select(Party).order_by(Party.code))]


@router.post(
    "/parties", response_model=PartyOut, status_code=201, tags=["parties"], summary="Add a party"
)
def create_party(session: SessionDep, actor: FrameworkDep, payload: PartyIn) -> dict[str, Any]:
    """Add a party (framework administrators only: it changes the whole framework)."""
    if session.get(Party, payload.code) is not None:
        raise refused(409, "code", f"party {payload.code!r} already exists")
    party = Party(**payload.model_dump())
    session.add(party)
    commit(session, flush_only=True)
    after = {**as_dict(party), "visibility": "shared", "owner_party": party.code}
    record_write(session, actor, "parties", party.code, None, after)
    commit(session)
    return as_dict(party)


@router.get("/users", response_model=list[UserOut], tags=["users"], summary="Users of my party")
def list_users(session: SessionDep, actor: ActorDep) -> list[dict[str, Any]]:
    """The users of the caller's party (other parties' users are never listed)."""
    query = select(User).where(User.party_code == actor.party).order_by(User.id)
    return [as_dict(u) for u in session.scalars(query)]


@router.post(
    "/users", response_model=UserOut, status_code=201, tags=["users"], summary="Add a user"
)
def create_user(session: SessionDep, actor: AdminDep, payload: UserIn) -> dict[str, Any]:
    """Add a user to the caller's party (admins only). Names are unique within a party, so
    the answer never depends on other parties' users. Only a framework administrator
    makes another framework administrator."""
    if payload.role == "framework" and not actor.is_framework:
        raise refused(403, "role", "only a framework administrator grants the framework role")
    taken = select(User.id).where(User.name == payload.name, User.party_code == actor.party)
    if session.scalar(taken) is not None:
        raise refused(409, "name", f"user name {payload.name!r} is taken in your party")
    user = User(name=payload.name, role=payload.role, party_code=actor.party)
    session.add(user)
    commit(session, flush_only=True)
    record_write(session, actor, "users", user.id, None, user_state(user))
    commit(session)
    return as_dict(user)


@router.post(
    "/users/{user_id}/disable",
    response_model=UserOut,
    tags=["users"],
    summary="Disable a user and revoke their tokens",
)
def disable(session: SessionDep, actor: AdminDep, user_id: UserIdPath) -> dict[str, Any]:
    """Disable a user of the caller's party (admins only): every token and session of the
    user stops working at once, on every server process."""
    user = own_user(session, actor, user_id)
    before = user_state(user)
    disable_user(session, user)
    session.flush()
    record_write(session, actor, "users", user.id, before, user_state(user))
    commit(session)
    return as_dict(user)


def audit_out(entry: AuditEntry, party: str) -> dict[str, Any]:
    """An audit entry as ``party`` sees it: other parties' user names are withheld."""
    data = as_dict(entry)
    del data["seq"], data["prev_hash"], data["hash"]
    if entry.actor_party != party:
        data["user_name"] = None
    return data


@router.get("/audit", response_model=Page[AuditOut], tags=["audit"], summary="The audit log")
def list_audit(
    session: SessionDep,
    actor: ActorDep,
    entity: Annotated[Filter | None, Query()] = None,
    entity_id: Annotated[Filter | None, Query()] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Audit entries the caller may see, newest first (others' confidential ones never;
    other parties' entries show the party and role, not the user's name)."""
    query = select(AuditEntry).where(visible_to(AuditEntry, actor.party))
    if entity is not None:
        query = query.where(AuditEntry.entity == entity)
    if entity_id is not None:
        query = query.where(AuditEntry.entity_id == entity_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(AuditEntry.seq.desc()).limit(limit).offset(offset))
    items = [audit_out(row, actor.party) for row in rows]
    return {"items": items, "total": total, "limit": limit, "offset": offset}


@router.get(
    "/financing-totals",
    response_model=list[FinancingTotal],
    tags=["financing"],
    summary="Financing totals per party, instrument and currency",
)
def financing_totals(
    session: SessionDep, actor: ActorDep, party_code: Annotated[Iso3 | None, Query()] = None
) -> list[dict[str, Any]]:
    """Sums of the financing decisions the caller sees (amounts in each currency)."""
    model = FinancingDecision
    query = (
        select(
            model.party_code,
            model.instrument,
            model.currency,
            func.sum(model.amount).label("amount"),
            func.count().label("decisions"),
        )
        .where(visible_to(model, actor.party))
        .group_by(model.party_code, model.instrument, model.currency)
        .order_by(model.party_code, model.instrument, model.currency)
    )
    if party_code is not None:
        query = query.where(model.party_code == party_code)
    return [dict(row._mapping) for row in session.execute(query)]
