"""critmin's exception hierarchy.

Every error a user can cause derives from :class:`CritminError` and carries a one-line
message that names the offending field, the value and the reason, so the CLI can print it
without a traceback (exit code 2).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from pydantic import ValidationError


class CritminError(Exception):
    """Base class of all errors critmin raises on purpose."""


class DataError(CritminError):
    """Embedded or user-supplied data is missing, corrupted or fails validation."""


class InputError(CritminError):
    """A user argument (commodity, country, year, group ...) is unknown or out of range."""


class ScenarioError(CritminError):
    """A scenario or configuration file is invalid."""


class InfeasibleError(CritminError):
    """An optimisation or market-clearing problem has no feasible solution."""


def unknown_value(
    field: str, value: object, known: Iterable[object], limit: int = 12
) -> InputError:
    """An :class:`InputError` for ``value`` not in ``known``, listing a few valid choices."""
    choices = sorted({str(k) for k in known})
    shown = ", ".join(choices[:limit]) + (
        f" ... ({len(choices)} in all)" if len(choices) > limit else ""
    )
    return InputError(f"unknown {field} {value!r}: valid values are {shown}")


def scenario_error(
    exc: ValidationError, origin: str, location: Callable[[tuple[Any, ...]], str]
) -> ScenarioError:
    """One-line :class:`ScenarioError` for the first problem pydantic found in a file.

    ``location`` turns pydantic's error location into the field path users wrote.
    """
    first = exc.errors()[0]
    where = location(tuple(first["loc"]))
    message = str(first["msg"]).removeprefix("Value error, ")
    if first["type"] == "missing":
        return ScenarioError(f"{origin}: {where}: required field is missing")
    value = first.get("input")
    shown = "" if isinstance(value, dict | list) else f" = {value!r}"
    return ScenarioError(f"{origin}: {where}{shown}: {message}")


def field_path(
    loc: tuple[Any, ...],
    skip: frozenset[str] = frozenset(),
    skip_prefixes: tuple[str, ...] = ("function-",),
    empty: str = "config",
) -> str:
    """The field path a user wrote (``events[0].fraction``) from a pydantic error location,
    leaving out pydantic's own labels (union members in ``skip``, validator wrappers)."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif str(part) in skip or (skip_prefixes and str(part).startswith(skip_prefixes)):
            continue
        else:
            out += ("." if out else "") + str(part)
    return out or empty
