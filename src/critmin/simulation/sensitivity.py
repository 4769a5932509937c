"""One parameter at a time: how a scenario's headline figures move with each behavioural
parameter at the low and high values of ``parameters.yaml`` (the method page's table)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from critmin.market.params import parameter_table
from critmin.simulation.runner import simulate
from critmin.simulation.scenario import Scenario, parse_scenario

FIXED = ("regions",)  # model size, not behaviour


def sensitivity(
    scenario: Scenario,
    countries: Sequence[str] = ("USA", "JPN"),
    stage: str = "magnet",
    names: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Per parameter and setting (default, low, high): the ``countries``' shortfall at
    ``stage`` (t over the horizon, given up + unmet), the part rationed, and their peak price
    index there (central runs)."""
    table = parameter_table().set_index("name")
    chosen = [n for n in (names or table.index) if n not in FIXED]
    raw = scenario.model_dump()

    def run(overrides: dict[str, float]) -> dict[str, float]:
        result = simulate(parse_scenario({**raw, "parameters": {**raw["parameters"],
                                                                **overrides}}))
        t = result.totals().isel(scenario=0).sel(country=list(countries), stage=stage)
        return {
            "shortfall_t": float(t["shortfall"].sum()),
            "unmet_need_t": float(t["unmet_need"].sum()),
            "peak_price_index": float(t["peak_price_index"].max()),
        }

    rows = [{"parameter": "(defaults)", "setting": "default", "value": float("nan"), **run({})}]
    for name in chosen:
        for setting in ("low", "high"):
            value = float(str(table.loc[name, setting]))
            rows.append({"parameter": name, "setting": setting, "value": value,
                         **run({name: value})})
    return pd.DataFrame(rows)
