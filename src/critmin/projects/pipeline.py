"""Load the embedded project pipeline and validate user project files (CSV or YAML).

Every error is one :class:`~critmin.errors.InputError` line naming the file, the row and
project, the field, the value and the reason.
"""

from __future__ import annotations

from datetime import date
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from pydantic import ValidationError

from critmin.errors import InputError
from critmin.projects.schema import Project

# The date the embedded facts describe (the newest source read is of early February 2026).
EMBEDDED_AS_OF = date(2026, 2, 15)
COLUMNS = list(Project.model_fields)


def _row_error(origin: str, index: int, raw: dict[str, Any], exc: Exception) -> InputError:
    name = raw.get("project_id") or raw.get("project") or "?"
    where = f"{origin}: row {index + 1} ({name})"
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "row"
        message = _plain_message(str(first["msg"]))
        if first["type"] == "missing":
            return InputError(f"{where}: {field}: required field is missing")
        value = first.get("input")
        shown = "" if isinstance(value, dict | list) or not first["loc"] else f" = {_shown(value)}"
        return InputError(f"{where}: {field}{shown}: {message}")
    return InputError(f"{where}: {exc}")


def _plain_message(message: str) -> str:
    message = message.removeprefix("Value error, ")
    for words, sign in (("greater than or equal to", ">="), ("less than or equal to", "<="),
                        ("greater than", ">"), ("less than", "<")):  # fmt: skip
        message = message.replace(f"Input should be {words}", f"must be {sign}")
    return message


def _shown(value: Any) -> str:
    """A cell as the user wrote it: numbers bare, other text quoted."""
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return repr(value)
        return value
    return repr(value)


def validate_rows(rows: list[dict[str, Any]], origin: str, as_of: date) -> list[Project]:
    """Validate raw rows into :class:`Project` objects; unique ids; start vs ``as_of``."""
    projects: list[Project] = []
    seen: set[str] = set()
    for i, raw in enumerate(rows):
        if not isinstance(raw, dict):
            raise InputError(f"{origin}: row {i + 1}: expected a mapping of project fields")
        try:
            project = Project.model_validate(raw)
            project.check_start(as_of)
        except (ValidationError, ValueError) as exc:
            raise _row_error(origin, i, raw, exc) from None
        if project.project_id in seen:
            raise InputError(
                f"{origin}: row {i + 1}: project_id = {project.project_id!r}: duplicate id"
            )
        seen.add(project.project_id)
        projects.append(project)
    return projects


def to_frame(projects: list[Project]) -> pd.DataFrame:
    """Projects as a DataFrame (one row each, schema columns; missing values are NA)."""
    frame = pd.DataFrame([p.model_dump() for p in projects], columns=COLUMNS)
    frame["capacity"] = frame["capacity"].astype("float64")
    frame["capex"] = frame["capex"].astype("float64")
    frame["expected_start"] = frame["expected_start"].astype("Int64")
    return frame


@cache
def _embedded() -> pd.DataFrame:
    path = files("critmin.projects") / "data" / "projects.csv"
    with path.open("r", encoding="utf-8") as handle:
        raw = pd.read_csv(handle, dtype=str, keep_default_na=False)
    rows: list[dict[str, Any]] = raw.to_dict(orient="records")  # type: ignore[assignment]
    return to_frame(validate_rows(rows, "embedded projects.csv", EMBEDDED_AS_OF))


def read_projects(path: Path | str, as_of: date | None = None) -> pd.DataFrame:
    """Validate a user project file: CSV with the schema's columns, or YAML (a list of
    mappings, or ``{projects: [...]}``). ``as_of`` (default today) checks start years."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"projects file {path}: does not exist")
    when = as_of or date.today()
    if path.suffix.lower() in {".yaml", ".yml"}:
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise InputError(f"projects file {path}: not valid YAML ({exc})") from None
        if isinstance(raw, dict):
            raw = raw.get("projects")
        if not isinstance(raw, list):
            raise InputError(f"projects file {path}: expected a list of projects")
        rows = raw
    elif path.suffix.lower() == ".csv":
        try:
            rows = pd.read_csv(path, dtype=str, keep_default_na=False).to_dict(orient="records")
        except (pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise InputError(f"projects file {path}: not a readable CSV ({exc})") from None
    else:
        raise InputError(f"projects file {path}: suffix {path.suffix!r}: use .csv or .yaml")
    return to_frame(validate_rows(rows, str(path), when))


def load_projects(extra: Path | str | None = None, as_of: date | None = None) -> pd.DataFrame:
    """The embedded pipeline, plus the projects of ``extra`` (CSV/YAML) if given.

    Ids must stay unique across both; ``as_of`` applies to ``extra`` only (the embedded rows
    are checked against :data:`EMBEDDED_AS_OF`, the date their sources describe).
    """
    frame = _embedded().copy()
    if extra is None:
        return frame
    added = read_projects(extra, as_of)
    clash = sorted(set(frame["project_id"]) & set(added["project_id"]))
    if clash:
        raise InputError(f"projects file {extra}: project_id = {clash[0]!r}: already embedded")
    return pd.concat([frame, added], ignore_index=True)
