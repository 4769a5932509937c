"""A separate virtual environment with geopolrisk-py 2.0.1, for reproduction tests and benchmarks.

geopolrisk-py pins pandas <= 2.3.3, so it cannot live in critmin's own environment. This
module creates ``build/refenv`` once (geopolrisk-py from the wheel in
``$CRITMIN_GEOPOLRISK_WHEEL`` or from the package index, plus critmin itself, editable) and
returns its Python.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REFENV = ROOT / "build" / "refenv"
READY = REFENV / ".ready"
REFERENCE = "geopolrisk-py==2.0.1"


def reference_python() -> Path:
    """Python of the reference environment, created on first use (a few minutes)."""
    python = REFENV / "bin" / "python"
    if READY.is_file() and python.is_file():
        return python
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(REFENV)], check=True)
    wheel = os.environ.get("CRITMIN_GEOPOLRISK_WHEEL")
    target = wheel if wheel and Path(wheel).is_file() else REFERENCE
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, target], check=True)
    subprocess.run([*pip, "-e", str(ROOT)], check=True)
    READY.write_text(REFERENCE + "\n", encoding="utf-8")
    return python


def run_reference(out: Path, *args: str) -> None:
    """Run ``tools/geopolrisk_reference.py`` in the reference environment, writing to ``out``."""
    python = reference_python()
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "HOME": str(out / "home")}  # geopolrisk-py writes to ~/Documents
    script = ROOT / "tools" / "geopolrisk_reference.py"
    subprocess.run([str(python), str(script), "--out", str(out), *args], check=True, env=env)


if __name__ == "__main__":
    print(reference_python())
