"""The examples installed with critmin (``critmin/examples``: scenarios, LNG scenarios,
stockpile and portfolio configs), found through the package's resources so that the report
and the dashboard work from an installed wheel; a checkout's ``examples/`` links to them."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from critmin.errors import InputError


def examples_dir() -> Path | None:
    """The installed examples folder (``None`` if this installation has none)."""
    folder = Path(str(files("critmin").joinpath("examples")))
    return folder if (folder / "scenarios").is_dir() else None


def shipped_example(relative: str) -> Path:
    """The shipped example file ``examples/<relative>``."""
    folder = examples_dir()
    if folder is None or not (folder / relative).is_file():
        raise InputError(
            f"example file examples/{relative}: not found (critmin installed without its "
            "examples: give the file explicitly)"
        )
    return folder / relative


def shipped_scenarios() -> tuple[Path, ...]:
    """Example scenario files, sorted by name (empty when critmin is installed without them)."""
    folder = examples_dir()
    return tuple(sorted((folder / "scenarios").glob("*.yaml"))) if folder is not None else ()


def shipped_scenario(name: str) -> Path:
    """The example file named ``name`` (file stem, e.g. ``china_ree_ban_usa_jpn``)."""
    files = {path.stem: path for path in shipped_scenarios()}
    if name not in files:
        known = ", ".join(sorted(files)) or "none shipped with this installation"
        raise InputError(f"unknown scenario {name!r}: valid values are {known}")
    return files[name]


def shipped_lng_scenarios() -> tuple[Path, ...]:
    """Example LNG scenario files (``examples/lng/*.yaml``), sorted by name."""
    folder = examples_dir()
    return tuple(sorted((folder / "lng").glob("*.yaml"))) if folder is not None else ()
