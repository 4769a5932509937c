"""The one place that reads market results for the impact model.

The impact model needs, per scenario, country, commodity, stage and period:

* by use sector (the chain's end-use sectors and ``processing``): the use wanted at the
  reference price (``reference_t``), the use served (``used_t``) and the use wanted at the
  prevailing price but not served (``unmet_t``);
* by stage: production in the scenario and in its no-disruption baseline (``produced_t``,
  ``baseline_t``), and the price (``price_usd_per_t``) beside the reference price
  (``base_price_usd_per_t``).

The market result (:class:`critmin.market.result.MarketResult`) separates the use given up
because of the higher price (``demand_given_up``) from the need left unserved at it
(``unmet_need``: rationing). An input-output table has fixed input coefficients: an industry
that buys fewer magnets, for whichever reason, makes less. So the quantity channel reads the
whole shortfall (``unmet_need + demand_given_up``, both in ``unmet_t``); the part of the
given-up use that substitution or thrifting absorbs without lost output is not netted out,
which makes it an upper bound (docs/methods/impact.md). Processing input is a use of its own
(sector ``processing``): it moves with the processors' output, and processors are never
rationed (they buy on their margin), so its unmet need is 0. Ensembles report per-scenario
totals over the horizon only (no sector split, no production): :func:`from_ensemble` splits
a stage's unmet need over sectors in proportion to their reference use and leaves production
at its baseline (the producer channel is then not counted; the result says so).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import xarray as xr

from critmin.market.result import MarketResult
from critmin.simulation.runner import run_ensemble, simulate
from critmin.simulation.scenario import Scenario

USE_COLUMNS = [
    "scenario", "country", "commodity", "stage", "sector", "period", "months",
    "reference_t", "used_t", "unmet_t", "baseline_unmet_t",
]  # fmt: skip
SUPPLY_COLUMNS = [
    "scenario", "country", "commodity", "stage", "period", "months",
    "produced_t", "baseline_t", "price_usd_per_t", "base_price_usd_per_t",
]  # fmt: skip
PROCESSING = "processing"


@dataclass(frozen=True)
class MarketInputs:
    """Market quantities and prices the impact model reads (t and USD per t of the stage
    unit, per period), and the weight of each scenario (probabilities summing to 1)."""

    use: pd.DataFrame
    supply: pd.DataFrame
    weights: pd.Series
    units: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def countries(self) -> list[str]:
        return sorted(set(self.use["country"]) | set(self.supply["country"]))


def baseline_of(scenario: Scenario) -> Scenario:
    """``scenario`` with every event switched off (same market, same regions)."""
    events = [event.model_copy(update={"occurs": 0.0}) for event in scenario.events]
    return scenario.model_copy(update={"events": events})


def _use(ts: xr.Dataset, base: xr.Dataset) -> xr.Dataset:
    """Use by sector, processing input as sector ``processing`` (t/month)."""
    processing = xr.Dataset(
        {
            "reference_t": base["processing_input"],
            "used_t": ts["processing_input"],
            "unmet_t": xr.zeros_like(ts["processing_input"]),
            "baseline_unmet_t": xr.zeros_like(ts["processing_input"]),
        }
    ).expand_dims(sector=[PROCESSING])
    final = xr.Dataset(
        {
            "reference_t": ts["reference_demand"],
            "used_t": ts["consumption"],
            "unmet_t": ts["shortfall"],
            "baseline_unmet_t": base["shortfall"],
        }
    )
    return xr.concat([final, processing], dim="sector")


def from_run(
    result: MarketResult, baseline: MarketResult, scenario: str, commodity: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One central run (month by month) and its baseline as (use, supply) rows."""
    if result.kind != "central" or baseline.kind != "central":
        raise ValueError("from_run needs central runs with month-by-month results")
    ts, base = result.data, baseline.data
    use = _use(ts, base)
    use_frame = use.drop_vars("unit", errors="ignore").to_dataframe().reset_index()
    keep = (use_frame["reference_t"] > 0) | (use_frame["used_t"] > 0)
    use_frame = use_frame[keep].rename(columns={"month": "period"})
    supply = xr.Dataset(
        {
            "produced_t": ts["production"],
            "baseline_t": base["production"],
            "price_usd_per_t": ts["price"],
            "base_price_usd_per_t": base["price"],
        }
    )
    supply_frame = supply.drop_vars("unit", errors="ignore").to_dataframe().reset_index()
    # a country with no node at a stage (nothing made, used or traded there) has no price
    # there; its price channel is nil, so it keeps the reference price
    for column in ("price_usd_per_t", "base_price_usd_per_t"):
        supply_frame[column] = supply_frame[column].fillna(
            supply_frame["stage"].map(pd.Series(ts["base_price"].values, index=result.stages))
        )
    supply_frame = supply_frame.rename(columns={"month": "period"})
    for frame in (use_frame, supply_frame):
        frame.insert(0, "scenario", scenario)
        frame.insert(2, "commodity", commodity)
        frame["months"] = 1.0
    return use_frame[USE_COLUMNS], supply_frame[SUPPLY_COLUMNS]


def _units(result: MarketResult) -> dict[str, str]:
    return dict(zip(result.stages, [str(u) for u in result.data["unit"].values], strict=True))


def central(
    scenarios: dict[str, Scenario], weights: dict[str, float] | None = None
) -> MarketInputs:
    """Central runs of named scenarios (with their baselines), weighted by probability
    (equal weights when none are given)."""
    uses, supplies = [], []
    baselines: dict[str, MarketResult] = {}
    units: dict[str, str] = {}
    for name, scenario in scenarios.items():
        result = simulate(scenario)
        key = baseline_of(scenario).model_dump_json()
        if key not in baselines:
            baselines[key] = simulate(baseline_of(scenario))
        use, supply = from_run(result, baselines[key], name, scenario.commodity)
        uses.append(use)
        supplies.append(supply)
        units |= _units(result)
    given = weights or {name: 1.0 / len(scenarios) for name in scenarios}
    return MarketInputs(
        use=pd.concat(uses, ignore_index=True),
        supply=pd.concat(supplies, ignore_index=True),
        weights=pd.Series(given, name="weight").reindex(list(scenarios)),
        units=units,
    )


def from_ensemble(scenario: Scenario, samples: int, seed: int = 0) -> MarketInputs:
    """``samples`` sampled scenarios of ``scenario``, equally weighted, one period (the
    horizon): the sector split and prices come from the central run's reference use."""
    result = run_ensemble(scenario, samples=samples, seed=seed)
    reference = simulate(baseline_of(scenario))
    ts = reference.data
    per = result.data
    months = float(scenario.horizon.months)
    split = ts["reference_demand"].sum("month")
    total = split.sum("sector")
    share = (split / total.where(total > 0)).fillna(0.0)  # a split: 0 where no use at all
    names = [f"sample_{s}" for s in range(result.n_scenarios)]
    per = per.assign_coords(scenario=names)
    use = xr.Dataset(
        {
            "reference_t": per["reference"] * share,
            "used_t": per["consumption"] * share,
            "unmet_t": per["shortfall"] * share,
        }
    )
    use_frame = use.drop_vars("unit", errors="ignore").to_dataframe().reset_index()
    use_frame = use_frame[use_frame["reference_t"] > 0].assign(
        baseline_unmet_t=0.0, period="horizon", months=months, commodity=scenario.commodity
    )
    base_price = ts["price"].isel(month=0, drop=True)
    supply = xr.Dataset(
        {
            "produced_t": ts["production"].sum("month").broadcast_like(per["shortfall"]),
            "price_usd_per_t": per["mean_price_index"] * base_price,
            "base_price_usd_per_t": base_price.broadcast_like(per["shortfall"]),
        }
    )
    supply_frame = supply.drop_vars("unit", errors="ignore").to_dataframe().reset_index()
    supply_frame = supply_frame.assign(
        baseline_t=supply_frame["produced_t"],
        period="horizon",
        months=months,
        commodity=scenario.commodity,
    )
    notes = [
        "ensemble: shortfall split over sectors by reference use; mean price over the horizon; "
        "production held at baseline (producer channel not counted)"
    ]
    return MarketInputs(
        use=use_frame[USE_COLUMNS],
        supply=supply_frame[SUPPLY_COLUMNS],
        weights=pd.Series(1.0 / len(names), index=names, name="weight"),
        units=_units(result),
        notes=notes,
    )
