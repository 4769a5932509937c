"""The impact model: what unmet need and price changes cost each industry and the economy.

Three steps (equations and references in ``docs/methods/impact.md``):

1. **Direct effects** on the industries bridged to the chain. Quantity: an industry that
   buys a material for an end-use sector loses ``phi * s * x / 12`` of output per month,
   ``phi`` the sector's unmet fraction (market model: substitution and stocks are already in
   it) and ``s`` the bridge's dependent share; a stage's domestic producer gains or loses
   ``(production - baseline) * reference price``. Price: buyers pay ``(p - p0) * use`` more
   and domestic producers receive ``(p - p0) * production`` more, both in value added.
2. **Propagation** of the quantity effects through the domestic IO table with the directly
   hit industries exogenous (a mixed model): backward, their suppliers lose sales,
   ``dx_n = (I - A_nn)^-1 A_nc d_c`` (demand-driven Leontief); forward, their domestic
   buyers lose inputs, ``dx_n' = d_c' B_cn (I - B_nn)^-1`` (supply-driven Ghosh, losses only).
   An industry hit both ways loses the larger of the two (its output is bound by the tighter
   of demand and supply), never more than its output.
3. **Value added**: ``v * dx`` plus the price channel; the change in GDP is their sum.

Everything is per scenario; scenarios carry probabilities, and expected values weight them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from critmin.data.commodities import commodity as commodity_spec
from critmin.errors import InputError
from critmin.impact.bridges import bridges, resolve
from critmin.impact.io_tables import IOTable, io_table
from critmin.impact.market_inputs import PROCESSING, MarketInputs

MONTHS_PER_YEAR = 12.0
VARIABLES = {
    "direct_output_usd": "direct output change of the bridged industries",
    "backward_output_usd": "output change of their suppliers (mixed Leontief)",
    "forward_output_usd": "output change of their domestic buyers (mixed Ghosh, losses)",
    "output_change_usd": "total output change",
    "va_quantity_usd": "value-added change from the output change",
    "va_price_usd": "value-added change from prices (buyers pay, producers receive)",
    "va_change_usd": "total value-added change (the industry's GDP contribution)",
}


def _groups(direct: np.ndarray) -> dict[bytes, np.ndarray]:
    """Scenarios (rows of ``direct``) grouped by which industries are exogenous."""
    groups: dict[bytes, list[int]] = {}
    for s, row in enumerate(direct):
        groups.setdefault((row != 0.0).tobytes(), []).append(s)
    return {key: np.array(rows, dtype=int) for key, rows in groups.items()}


def mixed_backward(A: np.ndarray, d: np.ndarray) -> np.ndarray:  # noqa: N803
    """Output change of the endogenous industries when the exogenous ones (those with
    ``d != 0``) change output by ``d`` and every other final demand stays:
    ``(I - A_nn)^-1 A_nc d_c`` (Miller and Blair 2009, sec. 13.1); rows of ``d`` are
    scenarios. Exogenous positions are 0 in the result."""
    out = np.zeros_like(d)
    for key, rows in _groups(d).items():
        c = np.frombuffer(key, dtype=bool)
        n = ~c
        if not c.any() or not n.any():
            continue
        rhs = A[np.ix_(n, c)] @ d[np.ix_(rows, c)].T
        out[np.ix_(rows, n)] = np.linalg.solve(np.eye(int(n.sum())) - A[np.ix_(n, n)], rhs).T
    return out


def mixed_forward(B: np.ndarray, d: np.ndarray) -> np.ndarray:  # noqa: N803
    """Output lost by the endogenous industries when the exogenous ones deliver
    ``min(d, 0)`` less: ``d_c' B_cn (I - B_nn)^-1`` (the supply-driven model with exogenous
    outputs); rows of ``d`` are scenarios."""
    out = np.zeros_like(d)
    loss = np.minimum(d, 0.0)
    for key, rows in _groups(d).items():
        c = np.frombuffer(key, dtype=bool)
        n = ~c
        if not c.any() or not n.any():
            continue
        rhs = B[np.ix_(c, n)].T @ loss[np.ix_(rows, c)].T
        solved = np.linalg.solve((np.eye(int(n.sum())) - B[np.ix_(n, n)]).T, rhs)
        out[np.ix_(rows, n)] = solved.T
    return out


def combine(
    direct: np.ndarray, backward: np.ndarray, forward: np.ndarray, ceiling: np.ndarray
) -> np.ndarray:
    """Total output change: ``direct`` where it is set; elsewhere gains from the backward
    effect plus the larger of the backward and forward losses; losses capped at ``ceiling``."""
    exogenous = direct != 0.0
    losses = np.minimum(np.minimum(backward, 0.0), forward)
    total = np.where(exogenous, direct, np.maximum(backward, 0.0) + losses)
    result: np.ndarray = np.maximum(total, -ceiling)
    return result


def propagate(
    table: IOTable, direct: np.ndarray, months: np.ndarray, forward: bool = True
) -> dict[str, np.ndarray]:
    """Backward, forward and total output changes (USD over ``months``) of ``direct``
    ([scenario, industry])."""
    back = mixed_backward(table.A, direct)
    fwd = mixed_forward(table.B, direct) if forward else np.zeros_like(direct)
    ceiling = table.x[None, :] * np.asarray(months, dtype=float)[:, None] / MONTHS_PER_YEAR
    total = combine(direct, back, fwd, ceiling)
    return {"backward": back, "forward": fwd, "total": total}


@dataclass(frozen=True)
class DirectEffects:
    """Direct effects per scenario and industry (USD over the horizon) and what the bridges
    do not cover (USD at reference prices, never counted as zero loss)."""

    quantity: np.ndarray  # [scenario, industry]
    price_va: np.ndarray  # [scenario, industry]
    months: np.ndarray  # [scenario]
    unbridged: pd.DataFrame


def _next_stage(commodity: str, stage: str) -> str | None:
    ids = [s.id for s in commodity_spec(commodity).stages]
    k = ids.index(stage)
    return ids[k + 1] if k + 1 < len(ids) else None


def direct_effects(inputs: MarketInputs, country: str, table: IOTable) -> DirectEffects:
    """The direct quantity and price effects of ``inputs`` on ``table``'s industries."""
    links = resolve(bridges(), table)
    scenarios = list(inputs.weights.index)
    where = pd.Series(np.arange(len(scenarios)), index=scenarios)
    quantity = np.zeros((len(scenarios), table.n))
    price_va = np.zeros((len(scenarios), table.n))
    use = inputs.use[inputs.use["country"] == country]
    supply = inputs.supply[inputs.supply["country"] == country].copy()
    supply["delta_p"] = supply["price_usd_per_t"] - supply["base_price_usd_per_t"]
    keys = ["scenario", "commodity", "stage", "period"]
    use = use.merge(supply[[*keys, "delta_p"]], on=keys, how="left").fillna({"delta_p": 0.0})
    use["cost"] = use["delta_p"] * use["used_t"]
    reference = use["reference_t"].where(use["reference_t"] > 0)
    use["lost"] = ((use["unmet_t"] - use["baseline_unmet_t"]) / reference).fillna(0.0)
    gaps: list[pd.DataFrame] = []
    # processing use: the next stage's producer pays the price change
    processing = use[use["sector"] == PROCESSING].copy()
    pairs = zip(processing["commodity"], processing["stage"], strict=True)
    processing["buyer_stage"] = [_next_stage(str(c), str(st)) for c, st in pairs]
    producers = links[links["role"] == "supply"][["commodity", "stage", "position"]]
    paid = processing.merge(
        producers.rename(columns={"stage": "buyer_stage"}),
        on=["commodity", "buyer_stage"],
        how="left",
    )
    found = paid["position"].notna()
    np.add.at(
        price_va,
        (where[paid.loc[found, "scenario"]].to_numpy(), paid.loc[found, "position"].astype(int)),
        -paid.loc[found, "cost"].to_numpy(),
    )
    gaps.append(_gaps(paid[~found & (paid["cost"] != 0)], "processing price"))
    # end uses: the bridged industries lose output and pay the price change
    final = use[use["sector"] != PROCESSING]
    uses = links[links["role"] == "use"][
        ["commodity", "stage", "sector", "position", "use_share", "dependent_share"]
    ]
    hit = final.merge(uses, on=["commodity", "stage", "sector"], how="left")
    found = hit["position"].notna()
    rows = where[hit.loc[found, "scenario"]].to_numpy()
    cols = hit.loc[found, "position"].astype(int).to_numpy()
    part = hit[found]
    loss = part["lost"] * part["months"] * part["dependent_share"] * table.x[cols]
    np.add.at(quantity, (rows, cols), -(loss / MONTHS_PER_YEAR).to_numpy())
    np.add.at(price_va, (rows, cols), -(part["cost"] * part["use_share"]).to_numpy())
    missing = hit[~found & ((hit["lost"] != 0) | (hit["cost"] != 0))]
    gaps.append(_gaps(missing, "use"))
    # domestic producers: production change at reference prices, revenue from prices
    made = supply.merge(producers, on=["commodity", "stage"], how="left")
    made["change"] = (made["produced_t"] - made["baseline_t"]) * made["base_price_usd_per_t"]
    made["revenue"] = made["delta_p"] * made["produced_t"]
    found = made["position"].notna()
    rows = where[made.loc[found, "scenario"]].to_numpy()
    cols = made.loc[found, "position"].astype(int).to_numpy()
    np.add.at(quantity, (rows, cols), made.loc[found, "change"].to_numpy())
    np.add.at(price_va, (rows, cols), made.loc[found, "revenue"].to_numpy())
    gaps.append(_gaps(made[~found & ((made["change"] != 0) | (made["revenue"] != 0))], "supply"))
    periods = inputs.supply.drop_duplicates(["scenario", "period"])
    months = periods.groupby("scenario")["months"].sum().reindex(scenarios).fillna(0.0)
    return DirectEffects(quantity, price_va, months.to_numpy(), pd.concat(gaps, ignore_index=True))


def _gaps(frame: pd.DataFrame, channel: str) -> pd.DataFrame:
    """Market effects without a bridge: reported with their size, never counted as zero."""
    columns = ["scenario", "commodity", "stage", "sector", "period"]
    out = frame.reindex(columns=columns).fillna({"sector": ""})
    out["channel"] = channel
    out["unmet_fraction"] = frame.get("lost", pd.Series(0.0, index=frame.index)).to_numpy()
    out["price_cost_usd"] = frame.get("cost", frame.get("revenue", 0.0))
    out["production_change_usd"] = frame.get("change", pd.Series(0.0, index=frame.index))
    return out


@dataclass(frozen=True)
class ImpactResult:
    """Impacts of a weighted set of scenarios on one economy.

    ``dataset``: the variables of :data:`VARIABLES` over (scenario, industry) in USD over the
    scenario horizon, ``weight`` (probability) by scenario and ``gdp_change_usd`` by
    scenario; ``unbridged``: market effects no bridge covers (reported, not counted).
    """

    dataset: xr.Dataset
    unbridged: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)

    def expected(self) -> xr.Dataset:
        """Probability-weighted impacts by industry."""
        weights = self.dataset["weight"]
        return (self.dataset[list(VARIABLES)] * weights).sum("scenario")

    @property
    def gdp_change_usd(self) -> float:
        """Probability-weighted change in GDP, USD over the horizon."""
        ds = self.dataset
        return float((ds["gdp_change_usd"] * ds["weight"]).sum())

    def by_industry(self, top: int | None = None) -> pd.DataFrame:
        """Expected impacts per industry, largest value-added loss first (non-zero rows)."""
        frame = self.expected().to_dataframe().reset_index()
        frame = frame[["industry", "name", *VARIABLES]]
        moved = frame[list(VARIABLES)].abs().sum(axis=1) > 0
        frame = frame[moved].sort_values("va_change_usd", kind="stable")
        return (frame.head(top) if top else frame).reset_index(drop=True)

    def summary(self) -> pd.DataFrame:
        """Per scenario: probability, GDP change and output change (USD)."""
        ds = self.dataset
        return pd.DataFrame(
            {
                "scenario": ds["scenario"].to_numpy(),
                "probability": ds["weight"].to_numpy(),
                "gdp_change_usd": ds["gdp_change_usd"].to_numpy(),
                "output_change_usd": ds["output_change_usd"].sum("industry").to_numpy(),
                "va_price_usd": ds["va_price_usd"].sum("industry").to_numpy(),
            }
        )


def impacts(
    inputs: MarketInputs,
    country: str,
    table: IOTable | None = None,
    forward: bool = True,
) -> ImpactResult:
    """Output and value-added changes in ``country`` for every scenario of ``inputs``."""
    if country not in inputs.countries():
        raise InputError(
            f"country {country!r}: not a region of this market ({', '.join(inputs.countries())})"
        )
    table = table if table is not None else io_table(country)
    if table.economy != country:
        raise InputError(f"country {country!r}: the table {table.id} is {table.economy}'s")
    effects = direct_effects(inputs, country, table)
    scenarios = list(inputs.weights.index)
    moved = propagate(table, effects.quantity, effects.months, forward=forward)
    va_quantity = table.v[None, :] * moved["total"]
    out = {
        "direct_output_usd": effects.quantity,
        "backward_output_usd": moved["backward"],
        "forward_output_usd": moved["forward"],
        "output_change_usd": moved["total"],
        "va_quantity_usd": va_quantity,
        "va_price_usd": effects.price_va,
        "va_change_usd": va_quantity + effects.price_va,
    }
    dims = ("scenario", "industry")
    ds = xr.Dataset(
        {
            name: (dims, out[name], {"units": "USD over the scenario horizon", "long_name": text})
            for name, text in VARIABLES.items()
        },
        coords={
            "scenario": scenarios,
            "industry": list(table.industries),
            "name": ("industry", list(table.names)),
        },
    )
    ds["weight"] = ("scenario", inputs.weights.to_numpy(dtype=float), {"units": "probability"})
    ds["gdp_change_usd"] = ds["va_change_usd"].sum("industry")
    ds["gdp_change_usd"].attrs["units"] = "USD over the scenario horizon"
    ds["horizon_months"] = ("scenario", effects.months)
    meta = {
        "country": country,
        "io_table": table.id,
        "io_source": {
            k: table.meta.get(k) for k in ("title", "publisher", "url", "licence", "via", "year")
        },
        "output_year": table.output_year,
        "gdp_usd_per_year": table.gdp,
        "forward": forward,
        "notes": list(inputs.notes),
        "units": "USD over the scenario horizon (current USD of the table's output year)",
    }
    ds.attrs.update({"country": country, "io_table": table.id})
    return ImpactResult(dataset=ds, unbridged=effects.unbridged, meta=meta)
