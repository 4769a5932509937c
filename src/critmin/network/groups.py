"""Country groups (alliances, blocs) as data: built-ins from ``groups.yaml`` plus user files."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from critmin.errors import InputError, ScenarioError, unknown_value
from critmin.network.codes import known_codes

BUILTIN_FILE = Path(__file__).with_name("groups.yaml")


class CountryGroup(BaseModel):
    """A named set of countries (ISO3), with the source that defines it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
    name: str
    members: tuple[str, ...] = Field(min_length=1)
    source: str = ""
    url: str = ""

    @field_validator("members")
    @classmethod
    def _known_members(cls, members: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [m for m in members if m not in known_codes()]
        if unknown:
            raise ValueError(f"unknown country codes {unknown} (use ISO 3166 alpha-3)")
        if len(set(members)) != len(members):
            raise ValueError("members are repeated")
        return members


def _parse(raw: object, origin: str) -> dict[str, CountryGroup]:
    if not isinstance(raw, dict):
        raise ScenarioError(f"{origin}: expected a mapping of group id -> {{name, members}}")
    groups = {}
    for group_id, body in raw.items():
        try:
            groups[str(group_id)] = CountryGroup.model_validate(
                {"id": str(group_id), **(body or {})}
            )
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"])
            raise ScenarioError(
                f"{origin}: group {group_id!r}, field {field!r}: {first['msg']}"
            ) from exc
    return groups


@cache
def builtin_groups() -> dict[str, CountryGroup]:
    return _parse(yaml.safe_load(BUILTIN_FILE.read_text(encoding="utf-8")), "groups.yaml")


def load_groups(groups_file: Path | None = None) -> dict[str, CountryGroup]:
    """Built-in groups, overlaid with the groups of ``groups_file`` when given."""
    groups = dict(builtin_groups())
    if groups_file is not None:
        if not groups_file.is_file():
            raise ScenarioError(f"groups file {groups_file}: does not exist")
        try:
            raw = yaml.safe_load(groups_file.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ScenarioError(f"groups file {groups_file}: not valid YAML ({exc})") from exc
        groups.update(_parse(raw, str(groups_file)))
    return groups


def resolve_members(name: str, groups: dict[str, CountryGroup]) -> tuple[str, ...]:
    """Members of group ``name``; a bare ISO3 code stands for itself."""
    if name in groups:
        return groups[name].members
    if name in known_codes():
        return (name,)
    raise unknown_value("group or country", name, [*groups, "<ISO3 code>"])


def check_country(code: str, field: str = "country") -> str:
    if code not in known_codes():
        raise InputError(
            f"unknown {field} {code!r}: use an ISO 3166 alpha-3 code such as USA, JPN, CHN"
        )
    return code
