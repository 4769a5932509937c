"""Reading the YAML files users give critmin (scenarios, configs, rule files)."""

from __future__ import annotations

from pathlib import Path

import yaml

from critmin.errors import ScenarioError


def read_yaml(path: Path, what: str) -> object:
    """The parsed content of ``path``; a missing file or bad YAML is one
    :class:`ScenarioError` starting ``{what} {path}:``."""
    if not path.is_file():
        raise ScenarioError(f"{what} {path}: does not exist")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ScenarioError(f"{what} {path}: not valid YAML ({reason})") from None
