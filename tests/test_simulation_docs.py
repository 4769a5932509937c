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


def test_sensitivity_table_rows_are_recomputed() -> None:
    """Rows of the method page's sensitivity table come out of the model as printed."""
    from critmin.simulation import load_scenario
    from critmin.simulation.sensitivity import sensitivity

    text = DOC.read_text(encoding="utf-8")
    names = ["demand_elasticity", "reexport_leakage"]
    frame = sensitivity(
        load_scenario(Path(__file__).parents[1] / "examples/scenarios/china_ree_ban_usa_jpn.yaml"),
        names=names,
    )
    for name in names:
        line = [ln for ln in text.splitlines() if ln.startswith(f"| `{name}` |")][-1]
        cells = [c.strip() for c in line.strip("|").split("|")]
        printed = [float(c.replace(",", "")) for c in cells[3:9]]
        rows = frame[frame["parameter"] == name].set_index("setting")
        got = [
            rows.loc["low", "shortfall_t"], rows.loc["high", "shortfall_t"],
            rows.loc["low", "unmet_need_t"], rows.loc["high", "unmet_need_t"],
        ]
        for value, shown in zip(got, printed[:4], strict=True):
            assert round(value) == shown, name
        assert round(rows.loc["low", "peak_price_index"], 2) == printed[4], name
        assert round(rows.loc["high", "peak_price_index"], 2) == printed[5], name


def test_flagship_peak_table_rows_are_recomputed() -> None:
    """Every row of "When the flagship's peak exceeds 5" comes out of the model as printed."""
    from critmin.simulation import load_scenario
    from critmin.simulation.runner import simulate

    text = DOC.read_text(encoding="utf-8")
    head = "| reexport_leakage | demand_elasticity | substitution_elasticity | trade_elasticity |"
    lines = text.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith(head))
    rows = []
    for ln in lines[start + 2:]:
        if not ln.startswith("|"):
            break
        rows.append([c.strip().split(" ")[0] for c in ln.strip("|").split("|")])
    assert len(rows) == 6
    flagship = Path(__file__).parents[1] / "examples/scenarios/china_ree_ban_usa_jpn.yaml"
    base = load_scenario(flagship)
    names = ["reexport_leakage", "demand_elasticity", "substitution_elasticity", "trade_elasticity"]
    for row in rows:
        overrides = {n: float(v) for n, v in zip(names, row[:4], strict=True)}
        scenario = base.model_copy(update={"parameters": {**base.parameters, **overrides}})
        index = simulate(scenario).data["price_index"].sel(stage="magnet").max("month")
        for country, shown in zip(["USA", "JPN"], row[4:6], strict=True):
            assert round(float(index.sel(country=country)), 2) == float(shown), (row, country)
