"""The documentation site builds (strict) from the code, so its CLI and API pages cannot rot."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import typer.main

from critmin.cli.app import app

ROOT = Path(__file__).resolve().parents[1]


def test_site_builds_strict_with_every_command(tmp_path: Path) -> None:
    site = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-d", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    cli = (site / "reference" / "cli" / "index.html").read_text(encoding="utf-8")
    root = typer.main.get_command(app)
    names = root.list_commands(root.context_class(root))  # type: ignore[attr-defined]
    assert len(names) >= 6
    for name in names:
        assert f"critmin {name}" in cli, name
    api = (site / "reference" / "api" / "index.html").read_text(encoding="utf-8")
    for symbol in ("load_network", "geopolrisk", "gap_analysis", "run_ensemble", "build_report"):
        assert symbol in api, symbol
