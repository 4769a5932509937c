"""The worked examples of the documentation run, and say what the docs say they say."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WORKED = ROOT / "examples" / "worked"
EXPECTED = {
    "exposure.py": [
        "Concentration by stage, 2024",
        "GeoPolRisk, 2024",
        "Bottleneck stages:",
        "no data: allied demand unknown",
    ],
    "magnet_ban.py": ["USA magnets:", "JPN magnets:", "1,000 sampled bans"],
    "stockpile.py": ["Holdings by arrangement", "value of cooperation", "Effect of K"],
    "lng_sakhalin.py": ["AUS  25.14 Mt  38.1 %", "2026-01   7.9 %", "first-month gap"],
}


def test_every_worked_example_is_documented_and_tested() -> None:
    scripts = {p.name for p in WORKED.glob("*.py")}
    assert scripts == set(EXPECTED)
    for name in scripts:
        page = ROOT / "docs" / "examples" / name.replace(".py", ".md")
        assert f'--8<-- "examples/worked/{name}"' in page.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_worked_example_runs(name: str) -> None:
    done = subprocess.run(
        [sys.executable, str(WORKED / name)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    for line in EXPECTED[name]:
        assert line in done.stdout, (line, done.stdout[-2000:])
    # unknown figures print as "no data" with the reason, never as NaN or None
    assert re.search(r"\b(NaN|nan|None)\b", done.stdout) is None, done.stdout[-2000:]
