"""Who sees and changes what: party isolation, roles and authorship.

A party's users see every ``shared`` record and their own party's ``confidential`` ones,
never another party's: such a record is absent from lists, counts, exports and the audit
log, and answers 404 by id. Viewers only read; editors create and change their own party's
records (a record's party is always the caller's); admins also manage their party's users
and tokens. A ``framework`` administrator acts for the framework as a whole: they may also
enter and change *shared* records in any party's name (each such record says
``entered_by: framework`` and every write is in the audit log with the role) and add
parties; they see no other party's confidential records.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, or_

from critmin.service.models import FRAMEWORK

WRITE_ROLES = ("admin", "editor", "framework")
ADMIN_ROLES = ("admin", "framework")


@dataclass(frozen=True)
class Actor:
    """The authenticated user a request acts for (``token_id``: the credential used)."""

    user_id: uuid.UUID | None
    name: str
    party: str
    role: str
    token_id: uuid.UUID | None = None
    via_session: bool = False

    @property
    def can_write(self) -> bool:
        """Whether this user may create and change records of their party."""
        return self.role in WRITE_ROLES

    @property
    def is_admin(self) -> bool:
        """Whether this user may manage their party's users and tokens."""
        return self.role in ADMIN_ROLES

    @property
    def is_framework(self) -> bool:
        """Whether this user acts for the framework as a whole."""
        return self.role == FRAMEWORK

    def entered_by(self, party: str) -> str:
        """``entered_by`` of a record of ``party`` this actor writes."""
        return party if party == self.party else FRAMEWORK

    def may_write_for(self, party: str) -> bool:
        """Whether this actor may enter a record in ``party``'s name."""
        return party == self.party or self.is_framework

    def may_change(self, owner_party: str, visibility: str) -> bool:
        """Whether this actor may change or delete a record (it can see it)."""
        return owner_party == self.party or (self.is_framework and visibility == "shared")


def visible_to(model: Any, party: str) -> ColumnElement[bool]:
    """SQL condition: rows of ``model`` that ``party`` may see (shared, or its own)."""
    return or_(model.visibility == "shared", model.owner_party == party)


def is_visible(visibility: str, owner_party: str, party: str) -> bool:
    """Python twin of :func:`visible_to` for one record."""
    return visibility == "shared" or owner_party == party
