"""Create, read, update, delete, list, CSV export and import for one party-owned entity.

:func:`entity_router` builds the routes of one :class:`EntitySpec`; every entity (projects,
financing, milestones, commitments, follow-up events, stockpiles) gets the same, isolated,
audited routes with the same authorship rules (:mod:`critmin.service.access`): a record's
party is the caller's, except that a framework administrator may enter shared records in
another party's name.
"""

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Body, HTTPException, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session

from critmin.service.access import Actor, visible_to
from critmin.service.audit import record_write
from critmin.service.csv_io import CsvError, read_csv, to_csv
from critmin.service.deps import (
    ERROR_RESPONSES,
    ActorDep,
    Router,
    SessionDep,
    WriterDep,
    commit,
    field_error,
    refused,
)
from critmin.service.ids import uuid7
from critmin.service.models import Base, Party, as_dict
from critmin.service.schemas import Page

MAX_LIMIT = 500
MAX_IMPORT_ROWS = 10_000
IdPath = Annotated[uuid.UUID, Path(description="the record's id (a UUID)")]

# check(session, actor, payload, record before the change or None)
Checker = Callable[[Session, Actor, BaseModel, Any], None]
Clause = Callable[[str, Any], ColumnElement[bool] | None]


def _no_check(_session: Session, _actor: Actor, _payload: BaseModel, _record: Any) -> None:
    return None


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def _merge(current: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    return {**current, **changes}


@dataclass(frozen=True)
class EntitySpec:
    """One entity's table, payload models, filters, search columns and checks.

    ``referable``: other records may refer to it (projects, commitments), so once shared
    it stays shared and is never deleted (:func:`check_referable_change`).
    """

    path: str
    model: type[Base]
    create: type[BaseModel]
    read: type[BaseModel]
    filters: type[BaseModel]
    search: Sequence[str]
    check: Checker = _no_check
    special_filter: Clause = field(default=lambda _name, _value: None)
    to_read: Callable[[Base], dict[str, Any]] = field(default=as_dict)
    referable: bool = False
    merge: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]] = _merge

    @property
    def label(self) -> str:
        """The entity's name in the audit log (its table name)."""
        return str(self.model.__tablename__)

    @property
    def has_party(self) -> bool:
        """Whether the payload names the record's party (``party_code``)."""
        return "party_code" in self.create.model_fields


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


def get_visible(session: Session, spec: EntitySpec, actor: Actor, record_id: uuid.UUID) -> Any:
    """The record, if it exists and ``actor`` may see it; 404 otherwise (same either way)."""
    model: Any = spec.model
    record = session.scalars(
        select(model).where(model.id == record_id, visible_to(model, actor.party))
    ).first()
    if record is None:
        raise HTTPException(404, f"{spec.label} {record_id} not found")
    return record


def _get_writable(session: Session, spec: EntitySpec, actor: Actor, record_id: uuid.UUID) -> Any:
    """The record, if ``actor`` may change it; 404 if invisible, 403 if another's."""
    record = get_visible(session, spec, actor, record_id)
    if not actor.may_change(record.owner_party, record.visibility):
        raise HTTPException(
            403, f"{spec.label} {record_id} belongs to {record.owner_party}: only it may change it"
        )
    return record


def _owner(session: Session, spec: EntitySpec, actor: Actor, payload: BaseModel) -> str:
    """The party a new record belongs to: its ``party_code`` (default: the caller's)."""
    party = getattr(payload, "party_code", None) or actor.party
    if not actor.may_write_for(party):
        raise refused(
            403,
            "party_code",
            f"you enter records for {actor.party}, not {party} (only a framework "
            "administrator enters records in another party's name)",
        )
    if party != actor.party:
        if payload.model_dump()["visibility"] != "shared":
            raise refused(
                403, "visibility", f"a framework administrator enters shared records for {party}"
            )
        if session.get(Party, party) is None:
            raise refused(404, "party_code", f"no party {party!r}")
    return party


def check_referable_change(spec: EntitySpec, record: Any, payload: BaseModel | None) -> None:
    """A shared project or commitment stays shared and stays in the record, whatever refers
    to it: other parties may hold confidential records on it that its owner cannot see, so
    the answer may not depend on them (it neither reveals them nor lets them block)."""
    if not spec.referable or record.visibility != "shared":
        return
    if payload is None:
        raise HTTPException(
            409,
            f"{spec.label} {record.id} is shared: shared records others may refer to are "
            "never deleted (change their status or text instead)",
        )
    if payload.model_dump()["visibility"] != "shared":
        raise refused(
            409,
            "visibility",
            f"{spec.label} {record.id} is shared and stays shared (others may refer to it)",
        )


def partial_model(create: type[BaseModel]) -> type[BaseModel]:
    """``create`` with every field optional: the body of a PATCH (only the fields to change).

    A field keeps its type, so null is refused where the record needs a value (422 naming
    it); the changed record is then validated whole with ``create``.
    """
    fields: dict[str, Any] = {}
    for name, info in create.model_fields.items():
        # the field's own type (a required field cannot be set to null), no default shown
        field_info = Field(None, description=info.description, json_schema_extra=_no_default)
        annotation: Any = info.annotation
        if info.metadata:
            annotation = Annotated[annotation, *info.metadata]
        fields[name] = (annotation, field_info)
    return create_model(
        f"{create.__name__.removesuffix('In')}Patch",
        __config__=ConfigDict(extra="forbid"),
        **fields,
    )


def _first_error(exc: ValidationError) -> tuple[str, Any, str]:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "body"
    return where, first.get("input"), str(first["msg"])


def entity_router(spec: EntitySpec) -> Router:
    """The routes of one entity under ``/{spec.path}``."""
    router = Router(prefix=f"/{spec.path}", tags=[spec.path], responses=ERROR_RESPONSES)
    create_schema: Any = spec.create
    patch_model: Any = partial_model(spec.create)
    read_model: Any = spec.read
    filters_model: Any = spec.filters
    model: Any = spec.model

    def insert(session: Session, actor: Actor, payload: BaseModel) -> Any:
        owner = _owner(session, spec, actor, payload)
        spec.check(session, actor, payload, None)
        values = payload.model_dump()
        if spec.has_party:
            values["party_code"] = owner
        record = model(
            **values, id=uuid7(), owner_party=owner, entered_by=actor.entered_by(owner)
        )
        session.add(record)
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
        text = to_csv([spec.to_read(row) for row in rows], columns)
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
        allowed = set(create_schema.model_fields)
        payloads = []
        try:
            for number, row in read_csv(text, MAX_IMPORT_ROWS):
                data = {key: value for key, value in row.items() if key in allowed}
                try:
                    # CSV fields are text: numbers are parsed from it (JSON bodies are strict)
                    payloads.append((number, create_schema.model_validate(data, strict=False)))
                except ValidationError as exc:
                    where, _value, msg = _first_error(exc)
                    raise field_error(f"row {number}", "", f"field {where!r}: {msg}") from None
        except CsvError as exc:
            raise field_error(f"row {exc.row}", "", exc.reason) from None
        records = []
        for number, payload in payloads:
            try:
                records.append(insert(session, actor, payload))
            except HTTPException as exc:
                raise HTTPException(exc.status_code, f"row {number}: {exc.detail}") from None
        commit(session)
        return [spec.to_read(record) for record in records]

    @router.get("/{record_id}", response_model=read_model, summary=f"One of {spec.path}")
    def get_record(session: SessionDep, actor: ActorDep, record_id: IdPath) -> dict[str, Any]:
        return spec.to_read(get_visible(session, spec, actor, record_id))

    @router.post(
        "", response_model=read_model, status_code=201, summary=f"Create one of {spec.path}"
    )
    def create_record(
        session: SessionDep, actor: WriterDep, payload: create_schema
    ) -> dict[str, Any]:
        record = insert(session, actor, payload)
        commit(session)
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
            payload = create_schema.model_validate(spec.merge(current, changes))
        except ValidationError as exc:
            where, value, msg = _first_error(exc)
            raise field_error(where, value, msg) from None
        if spec.has_party and payload.party_code not in (None, record.owner_party):
            raise refused(
                409,
                "party_code",
                f"a record's party is its owner ({record.owner_party}) and does not change",
            )
        if record.owner_party != actor.party and payload.visibility != "shared":
            raise refused(409, "visibility", "another party's record stays shared")
        check_referable_change(spec, record, payload)
        spec.check(session, actor, payload, record)
        values = payload.model_dump()
        if spec.has_party:
            values["party_code"] = record.owner_party
        for name, value in values.items():
            setattr(record, name, value)
        record_write(session, actor, spec.label, record.id, before, as_dict(record))
        commit(session)
        return spec.to_read(record)

    @router.delete("/{record_id}", status_code=204, summary=f"Delete one of {spec.path}")
    def delete_record(session: SessionDep, actor: WriterDep, record_id: IdPath) -> Response:
        record = _get_writable(session, spec, actor, record_id)
        check_referable_change(spec, record, None)
        before = as_dict(record)
        session.delete(record)
        commit(session, flush_only=True)
        record_write(session, actor, spec.label, record_id, before, None)
        commit(session)
        return Response(status_code=204)

    return router
