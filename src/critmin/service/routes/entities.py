"""The party-owned entities: their filters, search columns and reference checks."""

import datetime as dt
import functools
from typing import Any

from pydantic import BaseModel
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from critmin.service.access import Actor, is_visible
from critmin.service.deps import field_error
from critmin.service.models import (
    Base,
    Commitment,
    FinancingDecision,
    Milestone,
    Party,
    Project,
    StockpileHolding,
    as_dict,
)
from critmin.service.routes.crud import EntitySpec
from critmin.service.schemas import (
    CommitmentIn,
    CommitmentOut,
    FinancingIn,
    FinancingOut,
    Instrument,
    Iso3,
    MilestoneIn,
    MilestoneOut,
    ProjectIn,
    ProjectOut,
    RecordId,
    ShortText,
    StockpileIn,
    StockpileOut,
    Visibility,
)
from critmin.service.status import CommitmentStatus, commitment_status, status_clause


class _Filters(BaseModel):
    """Filters every list and export takes: owner, visibility and a text search ``q``."""

    owner_party: Iso3 | None = None
    visibility: Visibility | None = None
    q: ShortText | None = None


class ProjectFilters(_Filters):
    """Project filters (exact match)."""

    country_iso3: Iso3 | None = None
    stage: ShortText | None = None
    commodity: ShortText | None = None


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


class StockpileFilters(_Filters):
    """Stockpile filters (exact match)."""

    party_code: Iso3 | None = None
    material: ShortText | None = None


def _check_party(session: Session, code: str) -> None:
    if session.get(Party, code) is None:
        raise field_error("party_code", code, f"no party {code!r}: add it under /parties first")


def _check_project(session: Session, actor: Actor, project_id: int | None, visibility: str) -> None:
    """The referenced project exists for ``actor``; a shared record needs a shared project."""
    if project_id is None:
        return
    project = session.get(Project, project_id)
    if project is None or not is_visible(project.visibility, project.owner_party, actor.party):
        raise field_error("project_id", project_id, f"no project {project_id}")
    if visibility == "shared" and project.visibility != "shared":
        raise field_error(
            "visibility", visibility, f"project {project_id} is confidential: so must this be"
        )


@functools.cache
def curated_project_names() -> frozenset[str]:
    """Names of the projects in the curated project list (``curated("projects")``)."""
    from critmin.data.tables import curated

    return frozenset(str(name) for name in curated("projects")["project"])


def _check_curated_link(session: Session, actor: Actor, payload: BaseModel) -> None:
    """``curated_name``, when given, names a project of the curated list."""
    assert isinstance(payload, ProjectIn)
    name = payload.curated_name
    if name is not None and name not in curated_project_names():
        raise field_error(
            "curated_name", name, "not the name of a project in the curated project list"
        )


def _check_project_change(session: Session, record: Any, payload: BaseModel) -> None:
    """A project with shared financing or milestones cannot turn confidential (it would
    leave shared records pointing at a record other parties cannot see)."""
    assert isinstance(payload, ProjectIn)
    if payload.visibility != "confidential":
        return
    for model in (FinancingDecision, Milestone):
        shared = session.scalar(
            select(model.id).where(model.project_id == record.id, model.visibility == "shared")
        )
        if shared is not None:
            raise field_error(
                "visibility",
                payload.visibility,
                f"project {record.id} has shared {model.__tablename__} (id {shared}): "
                "make them confidential first",
            )


def _check_financing(session: Session, actor: Actor, payload: BaseModel) -> None:
    assert isinstance(payload, FinancingIn)
    _check_party(session, payload.party_code)
    _check_project(session, actor, payload.project_id, payload.visibility)


def _check_milestone(session: Session, actor: Actor, payload: BaseModel) -> None:
    assert isinstance(payload, MilestoneIn)
    _check_project(session, actor, payload.project_id, payload.visibility)


def _check_party_only(session: Session, actor: Actor, payload: BaseModel) -> None:
    _check_party(session, str(payload.model_dump()["party_code"]))


def commitment_out(record: Base) -> dict[str, Any]:
    """A commitment with its status and days to deadline as of today (UTC)."""
    data = as_dict(record)
    assert isinstance(record, Commitment)
    status, days = commitment_status(record.deadline, record.met_on, dt.datetime.now(dt.UTC).date())
    return {**data, "status": status, "days_to_deadline": days}


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
        check=_check_curated_link,
        check_change=_check_project_change,
    ),
    EntitySpec(
        path="financing",
        model=FinancingDecision,
        create=FinancingIn,
        read=FinancingOut,
        filters=FinancingFilters,
        search=("instrument", "currency"),
        check=_check_financing,
    ),
    EntitySpec(
        path="milestones",
        model=Milestone,
        create=MilestoneIn,
        read=MilestoneOut,
        filters=MilestoneFilters,
        search=("title",),
        check=_check_milestone,
    ),
    EntitySpec(
        path="commitments",
        model=Commitment,
        create=CommitmentIn,
        read=CommitmentOut,
        filters=CommitmentFilters,
        search=("text", "source_title"),
        check=_check_party_only,
        special_filter=_commitment_filter,
        to_read=commitment_out,
    ),
    EntitySpec(
        path="stockpiles",
        model=StockpileHolding,
        create=StockpileIn,
        read=StockpileOut,
        filters=StockpileFilters,
        search=("material",),
        check=_check_party_only,
    ),
)
