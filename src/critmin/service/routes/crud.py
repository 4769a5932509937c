"""Create, read, update, delete, list, CSV export and import for one party-owned entity.

:func:`entity_router` builds the routes of one :class:`EntitySpec`; every entity (projects,
financing, milestones, commitments, stockpiles) gets the same, isolated and audited.
"""

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from critmin.service.access import Actor, visible_to
from critmin.service.audit import record_write
from critmin.service.deps import (
    ERROR_RESPONSES,
    ActorDep,
    SessionDep,
    WriterDep,
    field_error,
)
from critmin.service.models import Base, as_dict
from critmin.service.schemas import Page

MAX_LIMIT = 500
MAX_IMPORT_ROWS = 10_000
IdPath = Annotated[int, Path(ge=1, le=2_147_483_647)]

Checker = Callable[[Session, Actor, BaseModel], None]
ChangeChecker = Callable[[Session, Any, BaseModel], None]
Clause = Callable[[str, Any], ColumnElement[bool] | None]


@dataclass(frozen=True)
class EntitySpec:
    """One entity's table, payload models, filters, search columns and reference checks."""

    path: str
    model: type[Base]
    create: type[BaseModel]
    read: type[BaseModel]
    filters: type[BaseModel]
    search: Sequence[str]
    check: Checker
    special_filter: Clause = field(default=lambda _name, _value: None)
    to_read: Callable[[Base], dict[str, Any]] = field(default=as_dict)
    check_change: ChangeChecker = field(default=lambda _session, _record, _payload: None)

    @property
    def label(self) -> str:
        """The entity's name in the audit log (its table name)."""
        return str(self.model.__tablename__)


def _filtered(spec: EntitySpec, actor: Actor, filters: BaseModel) -> Select[Any]:
    """Rows of ``spec`` visible to ``actor`` that match ``filters`` (equality, ``q`` search)."""
    model: Any = spec.model
    query = select(model).where(visible_to(model, actor.party))
    for name, value in filters.model_dump(exclude_none=True).items():
        special = spec.special_filter(name, value)
        if special is not None:
            query = query.where(special)
        elif name == "q":
            pattern = f"%{value.lower()}%"
            query = query.where(
                or_(*(func.lower(getattr(model, col)).like(pattern) for col in spec.search))
            )
        else:
            query = query.where(getattr(model, name) == value)
    return query


def _get_visible(session: Session, spec: EntitySpec, actor: Actor, record_id: int) -> Any:
    """The record, if it exists and ``actor`` may see it; 404 otherwise (same either way)."""
    model: Any = spec.model
    record = session.scalars(
        select(model).where(model.id == record_id, visible_to(model, actor.party))
    ).first()
    if record is None:
        raise HTTPException(404, f"{spec.label} {record_id} not found")
    return record


def _get_writable(session: Session, spec: EntitySpec, actor: Actor, record_id: int) -> Any:
    """The record, if ``actor``'s party owns it; 404 if invisible, 403 if another's shared."""
    record = _get_visible(session, spec, actor, record_id)
    if record.owner_party != actor.party:
        raise HTTPException(
            403, f"{spec.label} {record_id} belongs to {record.owner_party}: only it may change it"
        )
    return record


def _commit(session: Session, flush_only: bool = False) -> None:
    """Commit (or flush), turning a constraint violation into 409 and rolling back."""
    try:
        session.flush() if flush_only else session.commit()
    except IntegrityError as exc:
        session.rollback()
        # the database's message may name records of other parties: say only what happened
        raise HTTPException(
            409, "the write conflicts with other records (a record still refers to this one)"
        ) from exc


def _csv_text(rows: list[dict[str, Any]], columns: list[str]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: "" if row.get(key) is None else row[key] for key in columns})
    return out.getvalue()


def _parse_csv(spec: EntitySpec, text: str) -> list[BaseModel]:
    """Validate every row of a CSV upload; 422 naming the row (1 = first after the header)
    and the field on the first failure."""
    reader = csv.DictReader(io.StringIO(text))
    allowed = set(spec.create.model_fields)
    if reader.fieldnames is None:
        raise field_error("header", "", "the CSV is empty: it needs a header row")
    payloads = []
    for number, row in enumerate(reader, start=1):
        if number > MAX_IMPORT_ROWS:
            raise field_error("rows", number, f"more than {MAX_IMPORT_ROWS} rows")
        data = {k: v for k, v in row.items() if k in allowed and v not in ("", None)}
        try:
            payloads.append(spec.create.model_validate(data))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise field_error(f"row {number}", row, f"field {where!r}: {first['msg']}") from None
    return payloads


def partial_model(create: type[BaseModel]) -> type[BaseModel]:
    """``create`` with every field optional: the body of a PATCH (only the fields to change).

    The changed record is then validated whole with ``create``, so a null in a required field
    is still a 422 naming it.
    """
    fields: dict[str, Any] = {}
    for name, info in create.model_fields.items():
        annotation: Any = info.annotation
        fields[name] = (annotation | None, Field(None, description=info.description))
    return create_model(
        f"{create.__name__.removesuffix('In')}Patch",
        __config__=ConfigDict(extra="forbid"),
        **fields,
    )


def entity_router(spec: EntitySpec) -> APIRouter:
    """The routes of one entity under ``/{spec.path}``."""
    router = APIRouter(prefix=f"/{spec.path}", tags=[spec.path], responses=ERROR_RESPONSES)
    create_schema: Any = spec.create
    patch_model: Any = partial_model(spec.create)
    read_model: Any = spec.read
    filters_model: Any = spec.filters
    model: Any = spec.model

    def insert(session: Session, actor: Actor, payload: BaseModel) -> Any:
        spec.check(session, actor, payload)
        record = model(**payload.model_dump(), owner_party=actor.party)
        session.add(record)
        session.flush()
        record_write(session, actor, spec.label, record.id, None, as_dict(record))
        return record

    @router.get("", response_model=Page[read_model], summary=f"List {spec.path}")
    def list_records(
        session: SessionDep,
        actor: ActorDep,
        filters: Annotated[filters_model, Query()],
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
        offset: Annotated[int, Query(ge=0, le=2_147_483_647)] = 0,
    ) -> dict[str, Any]:
        query = _filtered(spec, actor, filters)
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = session.scalars(query.order_by(model.id).limit(limit).offset(offset)).all()
        items = [spec.to_read(row) for row in rows]
        return {"items": items, "total": total, "limit": limit, "offset": offset}

    @router.get(
        "/export.csv",
        summary=f"Export {spec.path} as CSV",
        response_class=Response,
        responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
    )
    def export_csv(
        session: SessionDep, actor: ActorDep, filters: Annotated[filters_model, Query()]
    ) -> Response:
        rows = session.scalars(_filtered(spec, actor, filters).order_by(model.id)).all()
        columns = list(read_model.model_fields)
        text = _csv_text([spec.to_read(row) for row in rows], columns)
        return Response(text, media_type="text/csv")

    @router.post(
        "/import.csv",
        summary=f"Import {spec.path} from CSV (all rows or none)",
        response_model=list[read_model],
        status_code=201,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"text/csv": {"schema": {"type": "string"}}},
            }
        },
    )
    def import_csv(
        session: SessionDep, actor: WriterDep, body: Annotated[bytes, Body(media_type="text/csv")]
    ) -> list[dict[str, Any]]:
        try:
            text = body.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise field_error("body", "", "the CSV is not UTF-8") from None
        payloads = _parse_csv(spec, text)
        records = [insert(session, actor, payload) for payload in payloads]
        _commit(session)
        return [spec.to_read(record) for record in records]

    @router.get("/{record_id}", response_model=read_model, summary=f"One of {spec.path}")
    def get_record(session: SessionDep, actor: ActorDep, record_id: IdPath) -> dict[str, Any]:
        return spec.to_read(_get_visible(session, spec, actor, record_id))

    @router.post(
        "", response_model=read_model, status_code=201, summary=f"Create one of {spec.path}"
    )
    def create_record(
        session: SessionDep, actor: WriterDep, payload: create_schema
    ) -> dict[str, Any]:
        record = insert(session, actor, payload)
        _commit(session)
        return spec.to_read(record)

    @router.patch("/{record_id}", response_model=read_model, summary=f"Change one of {spec.path}")
    def update_record(
        session: SessionDep,
        actor: WriterDep,
        record_id: IdPath,
        patch: Annotated[patch_model, Body()],
    ) -> dict[str, Any]:
        record = _get_writable(session, spec, actor, record_id)
        before = as_dict(record)
        changes = patch.model_dump(exclude_unset=True)
        current = {name: before[name] for name in create_schema.model_fields}
        try:
            payload = create_schema.model_validate({**current, **changes})
        except ValidationError as exc:
            first = exc.errors()[0]
            raise field_error(first["loc"][0], first.get("input"), first["msg"]) from None
        spec.check(session, actor, payload)
        spec.check_change(session, record, payload)
        for name, value in payload.model_dump().items():
            setattr(record, name, value)
        session.flush()
        record_write(session, actor, spec.label, record.id, before, as_dict(record))
        _commit(session)
        return spec.to_read(record)

    @router.delete("/{record_id}", status_code=204, summary=f"Delete one of {spec.path}")
    def delete_record(session: SessionDep, actor: WriterDep, record_id: IdPath) -> Response:
        record = _get_writable(session, spec, actor, record_id)
        before = as_dict(record)
        session.delete(record)
        _commit(session, flush_only=True)
        record_write(session, actor, spec.label, record_id, before, None)
        _commit(session)
        return Response(status_code=204)

    return router
