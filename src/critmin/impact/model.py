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
   An industry's output is bound by the tightest of its constraints, so of its direct,
   backward and forward losses the largest counts (they do not add), never more than its
   output; the directly hit industries' totals are iterated with the others' to a fixed
   point.
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


ITERATIONS = 200
TOLERANCE = 1e-12  # relative to the largest direct change


def _groups(direct: np.ndarray) -> dict[bytes, np.ndarray]:
    """Scenarios (rows of ``direct``) grouped by which industries are exogenous."""
    groups: dict[bytes, list[int]] = {}
    for s, row in enumerate(direct):
        groups.setdefault((row != 0.0).tobytes(), []).append(s)
    return {key: np.array(rows, dtype=int) for key, rows in groups.items()}


def _backward_operator(A: np.ndarray, c: np.ndarray) -> np.ndarray:  # noqa: N803
    """``(I - A_nn)^-1 A_nc``: endogenous output per unit of exogenous output change."""
    n = ~c
    return np.linalg.solve(np.eye(int(n.sum())) - A[np.ix_(n, n)], A[np.ix_(n, c)])


def _forward_operator(B: np.ndarray, c: np.ndarray) -> np.ndarray:  # noqa: N803
    """``B_cn (I - B_nn)^-1``: endogenous output per unit of exogenous delivery change."""
    n = ~c
    solved = np.linalg.solve((np.eye(int(n.sum())) - B[np.ix_(n, n)]).T, B[np.ix_(c, n)].T)
    result: np.ndarray = solved.T
    return result


def mixed_backward(A: np.ndarray, d: np.ndarray) -> np.ndarray:  # noqa: N803
    """Output change of the endogenous industries when the exogenous ones (those with
    ``d != 0``) change output by ``d`` and every other final demand stays:
    ``(I - A_nn)^-1 A_nc d_c`` (Miller and Blair 2009, sec. 13.1); rows of ``d`` are
    scenarios. Exogenous positions are 0 in the result."""
    out = np.zeros_like(d)
    for key, rows in _groups(d).items():
        c = np.frombuffer(key, dtype=bool)
        if c.any() and not c.all():
            out[np.ix_(rows, ~c)] = d[np.ix_(rows, c)] @ _backward_operator(A, c).T
    return out


def mixed_forward(B: np.ndarray, d: np.ndarray) -> np.ndarray:  # noqa: N803
    """Output lost by the endogenous industries when the exogenous ones deliver
    ``min(d, 0)`` less: ``d_c' B_cn (I - B_nn)^-1`` (the supply-driven model with exogenous
    outputs); rows of ``d`` are scenarios."""
    out = np.zeros_like(d)
    for key, rows in _groups(d).items():
        c = np.frombuffer(key, dtype=bool)
        if c.any() and not c.all():
            loss = np.minimum(d[np.ix_(rows, c)], 0.0)
            out[np.ix_(rows, ~c)] = loss @ _forward_operator(B, c)
    return out


def combine(
    direct: np.ndarray, backward: np.ndarray, forward: np.ndarray, ceiling: np.ndarray
) -> np.ndarray:
    """Total output change. Output is bound by the tightest of its constraints (Leontief
    complementarity): the direct loss, the demand left by the other industries (backward)
    and the inputs they still deliver (forward), so losses do not add up: the largest one
    counts. Gains add: a direct gain (more domestic production of the material) and, for
    industries without a direct effect, more demand from the others. Losses are capped at
    the output of the period (``ceiling``)."""
    exogenous = direct != 0.0
    gains = np.maximum(direct, 0.0) + np.where(exogenous, 0.0, np.maximum(backward, 0.0))
    losses = np.minimum(np.minimum(np.minimum(direct, 0.0), backward), forward)
    result: np.ndarray = gains + np.maximum(losses, -ceiling)
    return result


def propagate(
    table: IOTable, direct: np.ndarray, months: np.ndarray, forward: bool = True
) -> dict[str, np.ndarray]:
    """Backward, forward and total output changes (USD over ``months``) of ``direct``
    ([scenario, industry]).

    The mixed models give the effects on the industries without a direct effect (n) of the
    total change ``t_c`` of those with one (c); these in turn see the others' changes,
    demand ``sum_(j != i) A_ij dx_j`` and deliveries ``sum_(j != i) dx_j^- B_ji``, and
    their total is :func:`combine` of the three. ``t_c`` starts at the direct change and is
    iterated to its fixed point (losses only grow, bounded by output, so it converges)."""
    A, B = table.A, table.B  # noqa: N806
    ceiling = table.x[None, :] * np.asarray(months, dtype=float)[:, None] / MONTHS_PER_YEAR
    back = np.zeros_like(direct)
    fwd = np.zeros_like(direct)
    for key, rows in _groups(direct).items():
        c = np.frombuffer(key, dtype=bool)
        n = ~c
        if not c.any():
            continue
        d = direct[np.ix_(rows, c)]
        to_n = _backward_operator(A, c) if n.any() else np.zeros((0, int(c.sum())))
        fwd_n_op = _forward_operator(B, c) if n.any() and forward else None
        own_a = A[np.ix_(c, c)] - np.diag(np.diag(A[np.ix_(c, c)]))
        own_b = B[np.ix_(c, c)] - np.diag(np.diag(B[np.ix_(c, c)]))
        total = d.copy()
        scale = max(float(np.abs(d).max()), 1.0)
        for _ in range(ITERATIONS):
            bn = total @ to_n.T
            bc = total @ own_a.T + bn @ A[np.ix_(c, n)].T
            loss = np.minimum(total, 0.0)
            if fwd_n_op is not None:
                fn = loss @ fwd_n_op
                fc = loss @ own_b + fn @ B[np.ix_(n, c)]
            else:
                fn = np.zeros_like(bn)
                fc = np.zeros_like(bc) if not forward else loss @ own_b
            new = combine(d, bc, fc, ceiling[np.ix_(rows, c)])
            done = float(np.abs(new - total).max()) <= TOLERANCE * scale
            total = new
            if done:
                break
        back[np.ix_(rows, c)] = bc
        back[np.ix_(rows, n)] = bn
        fwd[np.ix_(rows, c)] = fc
        fwd[np.ix_(rows, n)] = fn
    total_all = combine(direct, back, fwd, ceiling)
    return {"backward": back, "forward": fwd, "total": total_all}


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


def direct_effects(
    inputs: MarketInputs, country: str, table: IOTable, links: pd.DataFrame | None = None
) -> DirectEffects:
    """The direct quantity and price effects of ``inputs`` on ``table``'s industries through
    ``links`` (default: the embedded bridges)."""
    links = resolve(bridges() if links is None else links, table)
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
    out = frame.reindex(columns=columns)
    out["sector"] = out["sector"].astype(object).fillna("")  # no sector: the stage's own use
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
    links: pd.DataFrame | None = None,
) -> ImpactResult:
    """Output and value-added changes in ``country`` for every scenario of ``inputs``
    (``table``: default the country's embedded table; ``links``: default the embedded
    bridges)."""
    if country not in inputs.countries():
        raise InputError(
            f"country {country!r}: not a region of this market ({', '.join(inputs.countries())})"
        )
    table = table if table is not None else io_table(country)
    if table.economy != country:
        raise InputError(f"country {country!r}: the table {table.id} is {table.economy}'s")
    effects = direct_effects(inputs, country, table, links)
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
