"""critmin's exception hierarchy.

Every error a user can cause derives from :class:`CritminError` and carries a one-line
message that names the offending field, the value and the reason, so the CLI can print it
without a traceback (exit code 2).
"""

from __future__ import annotations

from collections.abc import Iterable


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
