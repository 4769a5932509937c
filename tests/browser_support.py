"""Headless Chromium for browser tests: Debian's chromium driven by Playwright.

Without chromium a browser test skips, except in CI (``CI`` set), where ``.ci/run``
installs it and a missing browser is a failure."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[1] / "build" / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 15_000


def chromium_path() -> str:
    """The chromium executable (``CRITMIN_CHROMIUM``, else on PATH); skip or fail without."""
    path = os.environ.get("CRITMIN_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).is_file():
        reason = f"chromium not found at {path!r} (set CRITMIN_CHROMIUM)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}: .ci/run installs Debian's chromium")
        pytest.skip(reason)
    return path
