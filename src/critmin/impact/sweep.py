"""The USGS-style sweep: one-year trade-disruption scenarios (origin x severity) for every
commodity critmin can simulate, their probabilities, and the probability-weighted change in
GDP of each ally, ranked.

Scenario probabilities (``data/sweep.yaml``, method in ``docs/methods/impact.md``): an
origin's chance of a disruption in a year times a conditional weight for each severity.
Commodities whose market cannot be built are listed with the reason, so the sweep grows as
data are added.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from critmin.config_files import read_yaml
from critmin.data import tables
from critmin.data.commodities import catalog
from critmin.errors import CritminError, DataError
from critmin.impact.io_tables import DATA_DIR
from critmin.impact.market_inputs import central
from critmin.impact.model import ImpactResult, impacts
from critmin.simulation.runner import simulate
from critmin.simulation.scenario import Scenario, parse_scenario

SWEEP_FILE = DATA_DIR / "sweep.yaml"
Progress = Callable[[str], None]


class ProbabilityRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    in_force_years: int = Field(ge=0)
    window: tuple[int, int]


class SweepConfig(BaseModel):
    """``data/sweep.yaml``: the scenario grid and the probability rule."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    year: int
    start: str
    duration_months: int = Field(ge=1, le=120)
    horizon_months: int = Field(ge=1, le=240)
    destinations: list[str]
    severities: list[float]
    severity_weights: list[float]
    origin_min_share: float = Field(ge=0.0, le=1.0)
    excluded_origins: list[str]
    probability: ProbabilityRule


@cache
def sweep_config() -> SweepConfig:
    """The embedded sweep settings."""
    raw = read_yaml(SWEEP_FILE, "sweep settings")
    config = SweepConfig.model_validate(raw)
    if len(config.severities) != len(config.severity_weights):
        raise DataError(f"{SWEEP_FILE.name}: severities and severity_weights differ in length")
    total = sum(config.severity_weights)
    if abs(total - 1.0) > 1e-9:
        raise DataError(f"{SWEEP_FILE.name}: severity_weights sum to {total}, not 1")
    return config


def _controls() -> pd.DataFrame:
    """Curated export controls with the commodities each names (its id, or its name in the
    materials text)."""
    frame = tables.curated("export_controls")
    return frame[frame["imposing_country_iso3"].notna()]


def _names(controls: pd.DataFrame, commodity: str) -> pd.Series:
    text = controls["materials"].fillna("").str.lower()
    label = commodity.replace("_", " ").rstrip("s")
    return (controls["commodity"] == commodity) | text.str.contains(label, regex=False)


def origin_probability(origin: str, commodity: str, config: SweepConfig) -> tuple[float, str]:
    """Chance that ``origin`` disrupts exports of ``commodity`` in a year, and its basis."""
    controls = _controls()
    own = controls[controls["imposing_country_iso3"] == origin]
    rule = config.probability
    latest = int(controls["year_num"].max())
    recent = own[_names(own, commodity) & (own["year_num"] >= latest - rule.in_force_years)]
    if not recent.empty:
        first = recent.sort_values("date").iloc[-1]
        return 1.0, f"control in force: {first['date']} {first['measure']}"
    low, high = rule.window
    years = high - low + 1
    count = int(own["year_num"].between(low, high).sum())
    rate = (count + 0.5) / years
    return 1.0 - math.exp(-rate), f"{count} documented controls {low}-{high} (any mineral)"


@dataclass(frozen=True)
class Plan:
    """The sweep's scenarios for one commodity, or why it cannot be simulated."""

    commodity: str
    scenarios: dict[str, Scenario] = field(default_factory=dict)
    table: pd.DataFrame = field(default_factory=pd.DataFrame)
    reason: str = ""

    def probabilities(self) -> dict[str, float]:
        """Scenario name -> probability."""
        return {
            str(k): float(v)
            for k, v in zip(self.table["scenario"], self.table["probability"], strict=True)
        }


def _base(commodity: str, config: SweepConfig) -> Scenario:
    return parse_scenario(
        {
            "name": f"{commodity}-baseline",
            "commodity": commodity,
            "year": config.year,
            "horizon": {"start": config.start, "months": config.horizon_months},
        },
        f"sweep {commodity}",
    )


def plan(commodity: str, config: SweepConfig | None = None) -> Plan:
    """Origins, severities and probabilities of ``commodity``'s disruption scenarios."""
    config = config or sweep_config()
    try:
        base = _base(commodity, config)
        ts = simulate(base).data
    except CritminError as exc:
        return Plan(commodity, reason=str(exc))
    produced = ts["production"].sum("month")
    share = (produced / produced.sum("country")).fillna(0.0).max("stage")
    origins = [
        str(c)
        for c in share["country"].values
        if float(share.sel(country=c)) >= config.origin_min_share
        and str(c) not in config.excluded_origins
    ]
    stages = [str(s) for s in ts["stage"].values]
    scenarios: dict[str, Scenario] = {}
    rows = []
    for origin in origins:
        p_origin, basis = origin_probability(origin, commodity, config)
        for severity, weight in zip(config.severities, config.severity_weights, strict=True):
            name = f"{commodity}:{origin}:{severity:g}"
            scenarios[name] = parse_scenario(
                {
                    "name": name,
                    "commodity": commodity,
                    "year": config.year,
                    "horizon": {"start": config.start, "months": config.horizon_months},
                    "events": [
                        {
                            "type": "export_control",
                            "origin": origin,
                            "stages": stages,
                            "destinations": list(config.destinations),
                            "fraction": severity,
                            "start": 1,
                            "duration": config.duration_months,
                        }
                    ],
                },
                f"sweep {name}",
            )
            rows.append(
                {
                    "scenario": name,
                    "commodity": commodity,
                    "origin": origin,
                    "origin_share": float(share.sel(country=origin)),
                    "severity": severity,
                    "origin_probability": p_origin,
                    "severity_weight": weight,
                    "probability": p_origin * weight,
                    "basis": basis,
                }
            )
    if not scenarios:
        return Plan(commodity, reason="no origin outside the allies reaches the share threshold")
    return Plan(commodity, scenarios, pd.DataFrame(rows))


@dataclass(frozen=True)
class SweepResult:
    """Per commodity and ally: impacts of every scenario, and the ranking."""

    scenarios: pd.DataFrame
    impacts: dict[tuple[str, str], ImpactResult]
    skipped: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)

    def ranking(self) -> pd.DataFrame:
        """Probability-weighted GDP change per commodity and country (USD per year of
        disruption), worst first within each country, with the worst scenario.

        ``unbridged_price_cost_usd`` is the probability-weighted extra cost of the market
        effects no industry bridge covers (not in the GDP change); where the chain has no
        bridge at all for the country but the market moves, the GDP change is unknown (NaN,
        unranked, ``basis`` says why), never 0."""
        rows = []
        for (commodity, country), result in self.impacts.items():
            summary = result.summary()
            worst = summary.iloc[int(np.argmin(summary["gdp_change_usd"].to_numpy()))]
            weight = result.dataset["weight"].to_series().to_dict()
            gaps = result.unbridged
            columns = ("unmet_fraction", "price_cost_usd", "production_change_usd")
            effect = [gaps[c].to_numpy(dtype=float) for c in columns]
            # an effect of unknown size (NaN) counts as a move: NaN != 0
            hit = ~(effect[0] <= 0) | (effect[1] != 0) | (effect[2] != 0)
            moved = gaps[hit]
            weights = np.array([weight.get(str(s), 0.0) for s in moved["scenario"]], dtype=float)
            unbridged = float((effect[1][hit] * weights).sum())
            bridged = bool(np.any(result.dataset["gdp_change_usd"].to_numpy() != 0))
            stages = ", ".join(sorted(set(moved["stage"].astype(str))))
            if moved.empty and not bridged:
                basis = ("no market effect: the runs move nothing this country buys (where its "
                         "use of the chain is not cited, the calibration may give it none)")
            elif moved.empty:
                basis = "valued: every market effect has an industry bridge"
            elif bridged:
                basis = (f"partial: market effects at {stages} have no industry bridge "
                         "(a lower bound)")  # fmt: skip
            else:
                basis = f"unknown: no industry bridge for the market effects at {stages}"
            known = moved.empty or bridged
            gdp = result.gdp_change_usd if known else float("nan")
            rows.append(
                {
                    "commodity": commodity,
                    "country": country,
                    "expected_gdp_change_usd": gdp,
                    "expected_gdp_change_share": gdp / result.meta["gdp_usd_per_year"],
                    "worst_scenario": worst["scenario"] if known else None,
                    "worst_gdp_change_usd": float(worst["gdp_change_usd"]) if known else np.nan,
                    "scenarios": len(summary),
                    "unbridged_price_cost_usd": unbridged,
                    "basis": basis,
                    "io_table": result.meta["io_table"],
                }
            )
        frame = pd.DataFrame(rows)
        if frame.empty:
            return frame
        frame = frame.sort_values(["country", "expected_gdp_change_usd"], kind="stable")
        ranked = frame["expected_gdp_change_usd"].notna()
        frame["rank"] = frame[ranked].groupby("country").cumcount() + 1
        frame["rank"] = frame["rank"].astype("Int64")
        return frame.reset_index(drop=True)


def run_sweep(
    commodities: list[str] | None = None,
    countries: tuple[str, ...] = ("USA", "JPN"),
    forward: bool = True,
    progress: Progress | None = None,
) -> SweepResult:
    """Plan, simulate and value every scenario of ``commodities`` (default: the whole
    catalogue; those that cannot be simulated are listed in ``skipped``)."""
    config = sweep_config()
    names = commodities if commodities is not None else sorted(catalog())
    plans, skipped = [], []
    for name in names:
        if progress is not None:
            progress(name)
        planned = plan(name, config)
        if planned.reason:
            skipped.append({"commodity": name, "reason": planned.reason})
        else:
            plans.append(planned)
    results: dict[tuple[str, str], ImpactResult] = {}
    for planned in plans:
        probabilities = planned.probabilities()
        inputs = central(planned.scenarios, probabilities)
        for country in countries:
            results[(planned.commodity, country)] = impacts(inputs, country, forward=forward)
    tables_ = [p.table for p in plans]
    return SweepResult(
        scenarios=pd.concat(tables_, ignore_index=True) if tables_ else pd.DataFrame(),
        impacts=results,
        skipped=pd.DataFrame(skipped, columns=["commodity", "reason"]),
        meta={"config": config.model_dump(), "countries": list(countries)},
    )


def ranking_figure(ranking: pd.DataFrame) -> Any:
    """Plotly bar chart of the probability-weighted GDP change per commodity and ally."""
    import plotly.graph_objects as go

    figure = go.Figure()
    for country in sorted(ranking["country"].unique()):
        part = ranking[ranking["country"] == country]
        figure.add_bar(
            y=part["commodity"],
            x=part["expected_gdp_change_usd"] / 1e6,
            name=country,
            orientation="h",
            customdata=np.stack([part["worst_gdp_change_usd"] / 1e6], axis=-1),
            hovertemplate="%{y}: %{x:,.1f} M USD (worst scenario %{customdata[0]:,.0f} M USD)",
        )
    figure.update_layout(
        title="Probability-weighted change in GDP from one-year trade disruptions",
        xaxis_title="million USD per year of disruption (negative: loss)",
        barmode="group",
        yaxis={"autorange": "reversed"},
    )
    return figure
