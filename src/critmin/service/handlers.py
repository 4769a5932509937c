"""Exception handlers: a client's mistake is always a 4xx with a short message.

- Validation errors (422) keep FastAPI's ``detail`` list (``loc``, ``msg``, ``type``) but
  never echo large input: ``input`` is cut to :data:`ECHO_CHARS` characters, non-finite
  numbers become strings and lone surrogates are escaped, so any body can be answered.
- Database errors: a unique or foreign-key violation is 409 (also when two identical
  requests race on PostgreSQL), a value the column cannot hold 422, a database that is busy
  or unreachable 503. No SQL, parameter or record content is ever logged or returned.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError, OperationalError

ECHO_CHARS = 80
logger = logging.getLogger("critmin.service")


def short_input(value: Any) -> Any:
    """A small, JSON-safe stand-in for an offending input value."""
    if value is None or (isinstance(value, bool | int) and abs(value) < 2**53):
        return value
    if isinstance(value, int):
        return short_input(str(value))
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str | bytes):
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
        return text if len(text) <= ECHO_CHARS else text[:ECHO_CHARS] + "..."
    if isinstance(value, dict):
        return f"an object with {len(value)} fields"
    if isinstance(value, list | tuple):
        return f"a list of {len(value)} items"
    return type(value).__name__


def _location(loc: Any) -> list[str | int]:
    return [part if isinstance(part, int) else short_input(str(part)) for part in loc]


def validation_detail(errors: Any) -> list[dict[str, Any]]:
    """FastAPI's error list, each entry reduced to loc, msg, type and a short input."""
    detail = []
    for error in list(errors)[:20]:
        entry = {
            "type": str(error.get("type", "value_error")),
            "loc": _location(error.get("loc", ())),
            "msg": short_input(str(error.get("msg", "invalid"))),
        }
        if "input" in error:
            entry["input"] = short_input(error["input"])
        detail.append(entry)
    return detail


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse({"detail": validation_detail(exc.errors())}, status_code=422)


async def _integrity(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(
        {"detail": "the write conflicts with another record (already exists or still referred to)"},
        status_code=409,
    )


async def _data(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(
        {"detail": "a value does not fit its database column (too long or out of range)"},
        status_code=422,
    )


async def _operational(request: Request, exc: Exception) -> JSONResponse:
    logger.warning("database unavailable: %s", type(exc).__name__)
    return JSONResponse(
        {"detail": "the database is busy or unavailable: retry shortly"},
        status_code=503,
        headers={"Retry-After": "1"},
    )


def single_query_values(request: Request) -> None:
    """Every query parameter at most once: a repeated one (``?entity=a&entity=b``) is a 422,
    not silently read as its last value (no route takes a list in its query)."""
    counts = Counter(key for key, _ in request.query_params.multi_items())
    repeated = sorted(key for key, n in counts.items() if n > 1)
    if repeated:
        raise RequestValidationError(
            [
                {"type": "repeated_parameter", "loc": ("query", key),
                 "msg": f"given {counts[key]} times; give it once", "input": None}
                for key in repeated
            ]
        )  # fmt: skip


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(IntegrityError, _integrity)
    app.add_exception_handler(DataError, _data)
    app.add_exception_handler(OperationalError, _operational)
