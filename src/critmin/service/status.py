"""Commitment status from its deadline and recorded outcome, and signed days to deadline.

The registry states only what is recorded: a commitment whose deadline has passed with no
outcome recorded is ``no_record`` (the dashboard asks for the outcome), not "overdue" as if
a failure were known. ``missed`` is a recorded failure (``missed_on``).
"""

from __future__ import annotations

import datetime as dt
from typing import get_args

from sqlalchemy import ColumnElement, and_, or_

from critmin.service.models import Commitment
from critmin.service.schemas import CommitmentStatus

STATUSES: tuple[CommitmentStatus, ...] = get_args(CommitmentStatus)


def commitment_status(
    deadline: dt.date | None, met_on: dt.date | None, missed_on: dt.date | None, today: dt.date
) -> tuple[CommitmentStatus, int | None]:
    """Status and ``days_to_deadline``: deadline minus the day it was met (or today).

    Met on or before the deadline (or with none) is ``met``, after it ``late``; recorded as
    not met ``missed``; otherwise ``open`` while the deadline is today or ahead (or there is
    none) and ``no_record`` once it has passed. Days are negative once the deadline has
    passed; None without a deadline.
    """
    reference = met_on or today
    days = None if deadline is None else (deadline - reference).days
    if met_on is not None:
        return ("late" if days is not None and days < 0 else "met"), days
    if missed_on is not None:
        return "missed", days
    return ("no_record" if days is not None and days < 0 else "open"), days


def status_clause(status: CommitmentStatus, today: dt.date) -> ColumnElement[bool]:
    """The SQL condition selecting commitments with ``status`` on ``today``."""
    met, missed, deadline = Commitment.met_on, Commitment.missed_on, Commitment.deadline
    if status == "met":
        return and_(met.is_not(None), or_(deadline.is_(None), met <= deadline))
    if status == "late":
        return and_(met.is_not(None), deadline.is_not(None), met > deadline)
    if status == "missed":
        return and_(met.is_(None), missed.is_not(None))
    unresolved = and_(met.is_(None), missed.is_(None))
    if status == "no_record":
        return and_(unresolved, deadline.is_not(None), deadline < today)
    return and_(unresolved, or_(deadline.is_(None), deadline >= today))
