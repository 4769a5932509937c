"""The example scenarios shipped with a source checkout (``examples/scenarios/*.yaml``)."""

from __future__ import annotations

from pathlib import Path

from critmin.errors import InputError

REPO_EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "scenarios"


def shipped_scenarios() -> tuple[Path, ...]:
    """Example scenario files, sorted by name (empty when critmin is installed without them)."""
    for folder in (REPO_EXAMPLES, Path.cwd() / "examples" / "scenarios"):
        if folder.is_dir():
            return tuple(sorted(folder.glob("*.yaml")))
    return ()


def shipped_scenario(name: str) -> Path:
    """The example file named ``name`` (file stem, e.g. ``china_ree_ban_usa_jpn``)."""
    files = {path.stem: path for path in shipped_scenarios()}
    if name not in files:
        known = ", ".join(sorted(files)) or "none shipped with this installation"
        raise InputError(f"unknown scenario {name!r}: valid values are {known}")
    return files[name]
