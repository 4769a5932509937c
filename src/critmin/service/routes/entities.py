"""The party-owned entities: their filters, search columns and reference checks.

The cross-party reference rule, one for every reference (``project_id`` of financing and
milestones, ``commitment_id`` of follow-up events): a record may refer to a record its
author can see that is shared or belongs to the record's own party; a shared record may
refer only to a shared one; and a shared project or commitment stays shared and is never
deleted (:func:`critmin.service.routes.crud.check_referable_change`). Every answer depends
only on records the caller can see, so it neither reveals another party's confidential
records nor lets them block the owner. A reference left unchanged by an update is not
checked again.
"""

import datetime as dt
import functools
import uuid
from typing import Any

from pydantic import BaseModel
from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from critmin.service.access import Actor, is_visible
from critmin.service.deps import refused
from critmin.service.models import (
    Base,
    Commitment,
    CommitmentEvent,
    FinancingDecision,
    Milestone,
    Project,
    StockpileHolding,
    as_dict,
)
from critmin.service.routes.crud import EntitySpec
from critmin.service.schemas import (
    CommitmentEventIn,
    CommitmentEventOut,
    CommitmentIn,
    CommitmentOut,
    CommitmentStatus,
    Commodity,
    Filter,
    FinancingIn,
    FinancingOut,
    Instrument,
    Iso3,
    Material,
    MilestoneIn,
    MilestoneOut,
    ProjectIn,
    ProjectOut,
    RecordId,
    Stage,
    StockpileIn,
    StockpileOut,
    Visibility,
)
from critmin.service.status import commitment_status, status_clause


class _Filters(BaseModel):
    """Filters every list and export takes: owner, visibility and a text search ``q``."""

    owner_party: Iso3 | None = None
    visibility: Visibility | None = None
    q: Filter | None = None


class ProjectFilters(_Filters):
    """Project filters (exact match)."""

    country_iso3: Iso3 | None = None
    stage: Stage | None = None
    commodity: Commodity | None = None


class FinancingFilters(_Filters):
    """Financing filters (exact match)."""

    party_code: Iso3 | None = None
    instrument: Instrument | None = None
    project_id: RecordId | None = None
    currency: Iso3 | None = None


class MilestoneFilters(_Filters):
    """Milestone filters (exact match)."""

    project_id: RecordId | None = None


class CommitmentFilters(_Filters):
    """Commitment filters; ``status`` is computed for today."""

    party_code: Iso3 | None = None
    status: CommitmentStatus | None = None


class CommitmentEventFilters(_Filters):
    """Follow-up event filters (exact match)."""

    commitment_id: RecordId | None = None


class StockpileFilters(_Filters):
    """Stockpile filters (exact match)."""

    party_code: Iso3 | None = None
    material: Material | None = None


def _owner_of(actor: Actor, payload: BaseModel, record: Any) -> str:
    if record is not None:
        return str(record.owner_party)
    return str(getattr(payload, "party_code", None) or actor.party)


def _check_reference(
    session: Session,
    actor: Actor,
    payload: BaseModel,
    record: Any,
    model: type[Base],
    name: str,
) -> None:
    """Apply the module's reference rule to ``payload.<name>`` (an id of ``model``)."""
    target_id: uuid.UUID | None = getattr(payload, name)
    if target_id is None:
        return
    label = model.__tablename__.removesuffix("s")
    target: Any = session.get(model, target_id)
    unchanged = record is not None and getattr(record, name) == target_id
    visible = target is not None and is_visible(target.visibility, target.owner_party, actor.party)
    if unchanged and not visible:
        return
    if not visible:
        raise refused(404, name, f"no {label} {target_id}")
    owner = _owner_of(actor, payload, record)
    if target.visibility != "shared" and target.owner_party != owner:
        raise refused(409, name, f"{label} {target_id} is confidential to {target.owner_party}")
    if payload.model_dump()["visibility"] == "shared" and target.visibility != "shared":
        raise refused(409, "visibility", f"{label} {target_id} is confidential: so must this be")


@functools.cache
def curated_project_names() -> frozenset[str]:
    """Names of the projects in the curated project list (``curated("projects")``)."""
    from critmin.data.tables import curated

    return frozenset(str(name) for name in curated("projects")["project"])


def _check_project(session: Session, actor: Actor, payload: BaseModel, record: Any) -> None:
    """``curated_name``, when given, names a project of the curated list."""
    assert isinstance(payload, ProjectIn)
    name = payload.curated_name
    if name is not None and name not in curated_project_names():
        raise refused(404, "curated_name", f"no project {name!r} in the curated project list")


def _check_project_reference(
    session: Session, actor: Actor, payload: BaseModel, record: Any
) -> None:
    _check_reference(session, actor, payload, record, Project, "project_id")


def _check_commitment_reference(
    session: Session, actor: Actor, payload: BaseModel, record: Any
) -> None:
    _check_reference(session, actor, payload, record, Commitment, "commitment_id")


def commitment_out(record: Base) -> dict[str, Any]:
    """A commitment with its status and days to deadline as of today (UTC)."""
    data = as_dict(record)
    assert isinstance(record, Commitment)
    status, days = commitment_status(
        record.deadline, record.met_on, record.missed_on, dt.datetime.now(dt.UTC).date()
    )
    return {**data, "status": status, "days_to_deadline": days}


def _merge_outcome(current: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """A commitment's outcome is one: recording ``met_on`` clears ``missed_on`` and the
    other way round (unless the change sets both, which validation refuses)."""
    merged = {**current, **changes}
    for name, other in (("met_on", "missed_on"), ("missed_on", "met_on")):
        if changes.get(name) is not None and other not in changes:
            merged[other] = None
    return merged


def _commitment_filter(name: str, value: Any) -> ColumnElement[bool] | None:
    if name != "status":
        return None
    return status_clause(value, dt.datetime.now(dt.UTC).date())


SPECS = (
    EntitySpec(
        path="projects",
        model=Project,
        create=ProjectIn,
        read=ProjectOut,
        filters=ProjectFilters,
        search=("name", "stage", "commodity", "status"),
        check=_check_project,
        referable=True,
    ),
    EntitySpec(
        path="financing",
        model=FinancingDecision,
        create=FinancingIn,
        read=FinancingOut,
        filters=FinancingFilters,
        search=("instrument", "currency"),
        check=_check_project_reference,
    ),
    EntitySpec(
        path="milestones",
        model=Milestone,
        create=MilestoneIn,
        read=MilestoneOut,
        filters=MilestoneFilters,
        search=("title",),
        check=_check_project_reference,
    ),
    EntitySpec(
        path="commitments",
        model=Commitment,
        create=CommitmentIn,
        read=CommitmentOut,
        filters=CommitmentFilters,
        search=("text", "source_title"),
        special_filter=_commitment_filter,
        to_read=commitment_out,
        referable=True,
        merge=_merge_outcome,
    ),
    EntitySpec(
        path="commitment-events",
        model=CommitmentEvent,
        create=CommitmentEventIn,
        read=CommitmentEventOut,
        filters=CommitmentEventFilters,
        search=("text", "source_title"),
        check=_check_commitment_reference,
    ),
    EntitySpec(
        path="stockpiles",
        model=StockpileHolding,
        create=StockpileIn,
        read=StockpileOut,
        filters=StockpileFilters,
        search=("material",),
    ),
)
