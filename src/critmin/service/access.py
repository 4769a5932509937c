"""Who sees and changes what: party isolation and roles.

A party's users see every ``shared`` record and their own party's ``confidential`` ones,
never another party's: such a record is absent from lists, counts, exports and the audit
log, and answers 404 by id. Viewers only read; editors create and change their party's
records; admins also manage their party's users and tokens and add parties.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, or_

WRITE_ROLES = ("admin", "editor")


@dataclass(frozen=True)
class Actor:
    """The authenticated user a request acts for."""

    user_id: int
    name: str
    party: str
    role: str

    @property
    def can_write(self) -> bool:
        """Whether this user may create and change records of their party."""
        return self.role in WRITE_ROLES

    @property
    def is_admin(self) -> bool:
        """Whether this user may manage users, tokens and parties."""
        return self.role == "admin"


def visible_to(model: Any, party: str) -> ColumnElement[bool]:
    """SQL condition: rows of ``model`` that ``party`` may see (shared, or its own)."""
    return or_(model.visibility == "shared", model.owner_party == party)


def is_visible(visibility: str, owner_party: str, party: str) -> bool:
    """Python twin of :func:`visible_to` for one record."""
    return visibility == "shared" or owner_party == party
