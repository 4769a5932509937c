"""The method page documents every parameter of parameters.yaml with its default."""

from __future__ import annotations

from pathlib import Path

from critmin.market.params import default_parameters, parameter_table

DOC = Path(__file__).parents[1] / "docs" / "methods" / "simulation.md"


def test_every_parameter_is_documented_with_its_default() -> None:
    text = DOC.read_text(encoding="utf-8")
    for row in parameter_table().itertuples():
        line = next((ln for ln in text.splitlines() if ln.startswith(f"| `{row.name}` |")), None)
        assert line is not None, row.name
        default = float(line.split("|")[2])
        assert default == float(row.value), row.name
        assert row.basis, row.name
    default_parameters().check()
