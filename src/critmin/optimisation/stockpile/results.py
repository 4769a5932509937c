"""Results of a solved stockpile model, kept apart from its inputs.

Units: holdings and shortfalls in t of the material's stage unit; costs in USD over the
model's horizon (holding costs are the annual rates times the horizon in years).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

if TYPE_CHECKING:
    from critmin.optimisation.stockpile.model import StockpileModel


def cvar(values: np.ndarray, probability: np.ndarray, alpha: float) -> float:
    """CVaR_alpha of a discrete distribution: the mean of its worst ``1 - alpha`` mass."""
    order = np.argsort(values)[::-1]
    v, p = np.asarray(values, float)[order], np.asarray(probability, float)[order]
    tail = 1.0 - alpha
    taken = np.minimum(p, np.maximum(tail - np.concatenate([[0.0], np.cumsum(p)[:-1]]), 0.0))
    return float((v * taken).sum() / tail)


@dataclass(frozen=True)
class StockpileSolution:
    """The optimum of one model.

    ``holdings`` [ally, material] t (with a ``scenario`` dim under perfect information);
    ``unmet``, ``release`` [scenario, month, ally, material] t/month; ``unmet_by_sector``
    [scenario, month, ally, material, sector] t/month; ``transfer`` [scenario,
    month, ally (from), partner (to), material] t/month or None; ``loss_usd`` [scenario, ally]
    damage plus freight of inflows; ``holding_cost_usd`` [ally]; ``objective_usd`` the LP's
    objective (with the CVaR term when risk-weighted); ``release_beyond`` [scenario, month,
    ally, material] t/month, the tonnes arriving beyond the first tranche of a release
    effect (``model.add_unmet_need``), None without one.
    """

    holdings: xr.DataArray
    unmet: xr.DataArray
    unmet_by_sector: xr.DataArray
    release: xr.DataArray
    transfer: xr.DataArray | None
    loss_usd: xr.DataArray
    holding_cost_usd: xr.DataArray
    probability: xr.DataArray
    consumption_t_per_year: xr.DataArray
    sector_share: xr.DataArray
    objective_usd: float
    cvar_alpha: float
    release_beyond: xr.DataArray | None = None

    @classmethod
    def from_model(cls, built: StockpileModel) -> StockpileSolution:
        inputs = built.inputs
        solution = built.model.solution
        p = built.scenarios.probability
        holdings = solution["holding"].clip(min=0.0)
        by_sector = solution["unmet"].fillna(0.0)
        unmet = by_sector.sum("sector")
        release = solution["release"]
        transfer = solution["transfer"].fillna(0.0) if built.transfers_allowed else None
        if inputs.curve_slope is not None:
            # masked pieces (cells without a curve piece) are not variables: a real zero
            pieces = solution["shortfall_piece"].fillna(0.0)
            loss = (inputs.curve_slope * pieces).sum(["month", "material", "piece"])
        else:
            loss = (inputs.damage_usd_per_t * by_sector).sum(["month", "material", "sector"])
        if transfer is not None:
            inflow = transfer.sum(["month", "ally"]).rename(partner="ally")
            loss = loss + (inputs.transfer_cost_usd_per_t * inflow).sum("material")
        yearly = inputs.annual_cost_usd_per_t * inputs.horizon_years * holdings
        if inputs.premium_slope is not None:  # buying raised the price: the premium paid
            yearly = yearly + (inputs.premium_slope * solution["purchase_lot"]).sum("lot")
        if built.perfect_information:
            yearly = (yearly * p).sum("scenario")
        return cls(
            holdings=holdings,
            unmet=unmet,
            unmet_by_sector=by_sector,
            release=release,
            transfer=transfer,
            loss_usd=loss.transpose("scenario", "ally"),
            holding_cost_usd=yearly.sum("material"),
            probability=p,
            consumption_t_per_year=inputs.consumption_t_per_year,
            sector_share=inputs.sector_share,
            objective_usd=float(built.model.objective.value or 0.0),
            cvar_alpha=inputs.cvar_alpha,
            release_beyond=(
                solution["release_beyond"].fillna(0.0) if "release_beyond" in solution else None
            ),
        )

    def for_ally(self, ally: str) -> StockpileSolution:
        """One ally's part of a solution in which no ally ships to another (the alone
        arrangement solved as one model); its objective is that ally's cost (risk-neutral)."""
        if self.transfer is not None and float(abs(self.transfer).sum()) > 0:
            raise ValueError("for_ally: the solution has transfers between allies")
        one = [ally]
        return StockpileSolution(
            holdings=self.holdings.sel(ally=one),
            unmet=self.unmet.sel(ally=one),
            unmet_by_sector=self.unmet_by_sector.sel(ally=one),
            release=self.release.sel(ally=one),
            transfer=None,
            loss_usd=self.loss_usd.sel(ally=one),
            holding_cost_usd=self.holding_cost_usd.sel(ally=one),
            probability=self.probability,
            consumption_t_per_year=self.consumption_t_per_year.sel(ally=one),
            sector_share=self.sector_share.sel(ally=one),
            objective_usd=float(self.cost_by_ally_usd.sel(ally=ally)),
            cvar_alpha=self.cvar_alpha,
            release_beyond=None
            if self.release_beyond is None
            else self.release_beyond.sel(ally=one),
        )

    @property
    def cost_by_ally_usd(self) -> xr.DataArray:
        """Holding cost + expected damage and freight of inflows, per ally (USD)."""
        return self.holding_cost_usd + (self.loss_usd * self.probability).sum("scenario")

    @property
    def expected_cost_usd(self) -> float:
        """Holding cost + expected second-stage cost, all allies (USD; no CVaR term)."""
        return float(self.cost_by_ally_usd.sum())

    @property
    def expected_shortfall_by_sector_t(self) -> xr.DataArray:
        """Expected unmet need over the horizon [ally, material, sector] (t)."""
        return (self.unmet_by_sector.sum("month") * self.probability).sum("scenario")

    @property
    def cvar_loss_usd(self) -> float:
        """CVaR at ``cvar_alpha`` of the allies' second-stage cost (USD)."""
        total = self.loss_usd.sum("ally").values
        return cvar(total, self.probability.values, self.cvar_alpha)

    @property
    def expected_shortfall_t(self) -> xr.DataArray:
        """Expected unmet need over the horizon [ally, material] (t)."""
        return (self.unmet.sum("month") * self.probability).sum("scenario")

    @property
    def cvar_shortfall_t(self) -> xr.DataArray:
        """CVaR at ``cvar_alpha`` of each material's unmet need of all allies (t)."""
        per = self.unmet.sum(["month", "ally"]).transpose("scenario", "material")
        p = self.probability.values
        return xr.DataArray(
            [cvar(per.values[:, j], p, self.cvar_alpha) for j in range(per.shape[1])],
            dims="material",
            coords={"material": per["material"].values},
        )

    @property
    def holdings_days(self) -> xr.DataArray:
        """Holdings in days of base consumption [ally, material] (NaN where unknown)."""
        daily = self.consumption_t_per_year / 365.0
        return self.holdings / daily.where(daily > 0)

    def _by_sector(self) -> dict[str, dict[str, dict[str, float]]]:
        """ally -> material -> sector -> expected unmet need (t), sectors using it only."""
        table = self.expected_shortfall_by_sector_t
        used = self.sector_share > 0
        out: dict[str, dict[str, dict[str, float]]] = {}
        for a in table["ally"].values:
            out[str(a)] = {}
            for m in table["material"].values:
                out[str(a)][str(m)] = {
                    str(k): float(table.sel(ally=a, material=m, sector=k))
                    for k in table["sector"].values
                    if bool(used.sel(ally=a, material=m, sector=k))
                }
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (see ``docs/methods/stockpile.md``, section Output)."""
        holdings = self.holdings
        if "scenario" in holdings.dims:
            holdings = (holdings * self.probability).sum("scenario")
        days = self.holdings_days
        if "scenario" in days.dims:
            days = (days * self.probability).sum("scenario")

        def nested(a: xr.DataArray) -> dict[str, dict[str, float | None]]:
            return {
                str(i): {
                    str(m): (None if np.isnan(v) else float(v))
                    for m, v in zip(a["material"].values, a.sel(ally=i).values, strict=True)
                }
                for i in a["ally"].values
            }

        return {
            "holdings": nested(holdings),
            "holdings_days": nested(days),
            "total_cost": self.expected_cost_usd,
            "objective": self.objective_usd,
            "cost_by_ally": {
                str(k): float(v) for k, v in self.cost_by_ally_usd.to_series().items()
            },
            "expected_shortfall": nested(self.expected_shortfall_t),
            "expected_shortfall_by_sector": self._by_sector(),
            "cvar_shortfall": {
                str(k): float(v) for k, v in self.cvar_shortfall_t.to_series().items()
            },
            "cvar_loss": self.cvar_loss_usd,
        }
