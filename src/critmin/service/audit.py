"""The append-only audit log: one entry per write, in the same transaction as the write."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy.orm import Session

from critmin.service.access import Actor
from critmin.service.models import AuditEntry


def record_write(
    session: Session,
    actor: Actor,
    entity: str,
    entity_id: object,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> AuditEntry:
    """Add the audit entry of one write (create: no before; delete: no after) to ``session``.

    The entry is confidential to the record's owner when the record was confidential before
    or after the write, so the log never reveals another party's confidential record.
    """
    states = [state for state in (before, after) if state is not None]
    owner = str(states[-1].get("owner_party", actor.party))
    confidential = any(state.get("visibility") == "confidential" for state in states)
    action = "create" if before is None else "delete" if after is None else "update"
    entry = AuditEntry(
        at=dt.datetime.now(dt.UTC),
        user_name=actor.name,
        actor_party=actor.party,
        action=action,
        entity=entity,
        entity_id=str(entity_id),
        owner_party=owner,
        visibility="confidential" if confidential else "shared",
        before=None if before is None else json.dumps(before, sort_keys=True),
        after=None if after is None else json.dumps(after, sort_keys=True),
    )
    session.add(entry)
    return entry
