"""Commitment status: met, late, on track or overdue, and signed days to the deadline."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from sqlalchemy import ColumnElement, and_, or_

from critmin.service.models import Commitment

CommitmentStatus = Literal["met", "late", "on_track", "overdue"]
STATUSES: tuple[CommitmentStatus, ...] = ("met", "late", "on_track", "overdue")


def commitment_status(
    deadline: dt.date | None, met_on: dt.date | None, today: dt.date
) -> tuple[CommitmentStatus, int | None]:
    """Status and ``days_to_deadline``: deadline minus the day it was met (or today).

    Met on or before the deadline (or with none) is ``met``; met after it ``late``; not met
    with the deadline today or ahead (or with none) ``on_track``; not met and past ``overdue``.
    Days are negative once the deadline has passed; None without a deadline.
    """
    reference = met_on or today
    days = None if deadline is None else (deadline - reference).days
    if met_on is not None:
        return ("late" if days is not None and days < 0 else "met"), days
    return ("overdue" if days is not None and days < 0 else "on_track"), days


def status_clause(status: CommitmentStatus, today: dt.date) -> ColumnElement[bool]:
    """The SQL condition selecting commitments with ``status`` on ``today``."""
    met, deadline = Commitment.met_on, Commitment.deadline
    if status == "met":
        return and_(met.is_not(None), or_(deadline.is_(None), met <= deadline))
    if status == "late":
        return and_(met.is_not(None), deadline.is_not(None), met > deadline)
    if status == "overdue":
        return and_(met.is_(None), deadline.is_not(None), deadline < today)
    return and_(met.is_(None), or_(deadline.is_(None), deadline >= today))
