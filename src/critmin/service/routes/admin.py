"""Parties, users and tokens, the audit log and the financing totals."""

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query
from sqlalchemy import func, select

from critmin.service.access import visible_to
from critmin.service.audit import record_write
from critmin.service.auth import issue_token
from critmin.service.deps import (
    ERROR_RESPONSES,
    ActorDep,
    AdminDep,
    SessionDep,
    field_error,
)
from critmin.service.models import AuditEntry, FinancingDecision, Party, User, as_dict
from critmin.service.schemas import (
    AuditOut,
    FinancingTotal,
    Iso3,
    Page,
    PartyIn,
    PartyOut,
    ShortText,
    TokenOut,
    UserIn,
    UserOut,
)

router = APIRouter(responses=ERROR_RESPONSES)
IdPath = Annotated[int, Path(ge=1, le=2_147_483_647)]
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=2_147_483_647)]


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
def create_party(session: SessionDep, actor: AdminDep, payload: PartyIn) -> dict[str, Any]:
    """Add a party (admins only); the code must be new."""
    if session.get(Party, payload.code) is not None:
        raise field_error("code", payload.code, f"party {payload.code!r} already exists")
    party = Party(**payload.model_dump())
    session.add(party)
    session.flush()
    after = {**as_dict(party), "visibility": "shared", "owner_party": actor.party}
    record_write(session, actor, "parties", party.code, None, after)
    session.commit()
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
    """Add a user to the caller's party (admins only)."""
    if session.scalar(select(User.id).where(User.name == payload.name)) is not None:
        raise field_error("name", payload.name, f"user name {payload.name!r} is taken")
    user = User(name=payload.name, role=payload.role, party_code=actor.party)
    session.add(user)
    session.flush()
    after = {**as_dict(user), "visibility": "confidential", "owner_party": actor.party}
    record_write(session, actor, "users", user.id, None, after)
    session.commit()
    return as_dict(user)


@router.post(
    "/users/{user_id}/tokens",
    response_model=TokenOut,
    status_code=201,
    tags=["users"],
    summary="Issue a token (shown once)",
)
def create_token(session: SessionDep, actor: AdminDep, user_id: IdPath) -> dict[str, Any]:
    """A new API token for a user of the caller's party (admins only)."""
    user = session.get(User, user_id)
    if user is None or user.party_code != actor.party:
        raise HTTPException(404, f"user {user_id} not found")
    token = issue_token(session, user.id)
    after = {"user_id": user.id, "visibility": "confidential", "owner_party": actor.party}
    record_write(session, actor, "api_tokens", user.id, None, after)
    session.commit()
    return {"user_id": user.id, "token": token}


@router.get("/audit", response_model=Page[AuditOut], tags=["audit"], summary="The audit log")
def list_audit(
    session: SessionDep,
    actor: ActorDep,
    entity: Annotated[ShortText | None, Query()] = None,
    entity_id: Annotated[ShortText | None, Query()] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Audit entries the caller may see, newest first (others' confidential ones never)."""
    query = select(AuditEntry).where(visible_to(AuditEntry, actor.party))
    if entity is not None:
        query = query.where(AuditEntry.entity == entity)
    if entity_id is not None:
        query = query.where(AuditEntry.entity_id == entity_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit).offset(offset))
    items = [as_dict(row) for row in rows]
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
