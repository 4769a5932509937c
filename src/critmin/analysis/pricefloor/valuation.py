"""Monte Carlo valuation of a price floor (contract for difference) and the project it backs.

The floor pays ``max(K - P_m, 0)`` per unit on month ``m``'s volume (its contract year's
volume / 12) for every month of the term; with an upside share the payer also receives that
share of ``max(P_m - K_u, 0)`` from the first year it applies, at most the cap per contract
year. Costs are discounted continuously at ``rate`` from the start (``exp(-rate t_m)``,
``t_m = m / 12`` years, payment at month end). Paths are simulated in fixed blocks of
:data:`BLOCK` paths, each from its own seed (``SeedSequence(seed, spawn_key=(block,))``), and
reduced block by block, so memory stays bounded and results are bit-identical for a seed
whatever ``chunk_paths`` is. Under parameter uncertainty path ``j`` uses posterior draw
``j mod draws``; the interval of the expected cost comes from the closed form per draw.
Units: price and floor in the commodity's unit (USD/kg or USD/t), volume in t/yr, money USD.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from critmin.analysis.pricefloor.closed_form import expected_floor_payout
from critmin.analysis.pricefloor.process import PriceProcess
from critmin.analysis.pricefloor.terms import FloorTerms
from critmin.analysis.pricefloor.uncertainty import ParameterPosterior, interval
from critmin.errors import InputError

BLOCK = 8192  # paths per random block (fixed: results never depend on chunking)
TAIL = 0.95  # P95 and CVaR95 of the cost


@dataclass(frozen=True)
class Project:
    """Project economics for NPV/IRR: ``capex_usd`` at the start, ``unit_cost`` per unit sold
    (same unit as the price), volumes from the floor terms."""

    capex_usd: float
    unit_cost: float

    def __post_init__(self) -> None:
        if self.capex_usd < 0:
            raise InputError(f"capex_usd {self.capex_usd}: must be >= 0")
        if self.unit_cost < 0:
            raise InputError(f"unit_cost {self.unit_cost}: must be >= 0")


@dataclass
class FloorValuation:
    """Results (USD). ``annual_*`` are per contract year; ``present_value`` discounts the net
    cost; P95 and CVaR95 are over paths (under parameter uncertainty: the predictive
    distribution, parameters and prices together)."""

    expected_cost: float  # total gross payout over the term, undiscounted
    expected_cost_se: float  # Monte Carlo standard error of expected_cost
    p95_cost: float
    cvar95_cost: float  # mean of the costs at or above their P95
    present_value: float  # expected discounted net cost
    present_value_p95: float
    present_value_cvar95: float
    present_value_se: float  # Monte Carlo standard error of present_value
    expected_upside_receipts: float
    probability_of_payout: float
    annual: pd.DataFrame  # year, volume_tpa, expected_cost, p95_cost, expected_price
    paths: int
    seed: int
    settings: dict[str, Any] = field(default_factory=dict)
    uncertainty: dict[str, Any] | None = None  # intervals from the parameter posterior
    project: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready document (keys documented in docs/methods/pricefloor.md)."""
        return {
            "expected_cost": self.expected_cost,
            "expected_cost_se": self.expected_cost_se,
            "p95_cost": self.p95_cost,
            "cvar95_cost": self.cvar95_cost,
            "present_value": self.present_value,
            "present_value_p95": self.present_value_p95,
            "present_value_cvar95": self.present_value_cvar95,
            "present_value_se": self.present_value_se,
            "expected_upside_receipts": self.expected_upside_receipts,
            "probability_of_payout": self.probability_of_payout,
            "uncertainty": self.uncertainty,
            "annual": self.annual.to_dict(orient="records"),
            "paths": self.paths,
            "seed": self.seed,
            "settings": self.settings,
            "project": self.project,
        }


def _blocks(paths: int) -> list[tuple[int, int]]:
    return [(b, min(BLOCK, paths - b * BLOCK)) for b in range(-(-paths // BLOCK))]


def _block(
    process: PriceProcess,
    terms: FloorTerms,
    seed: int,
    block: int,
    n: int,
    disc: np.ndarray,
    with_project: bool,
    posterior: ParameterPosterior | None,
) -> dict[str, np.ndarray]:
    """Simulate block ``block`` (``n`` paths) and reduce it: per-path yearly payouts and
    discounted net cost, block sums of prices, upside receipts and project revenues."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(block,))))
    years, months = terms.years, 12 * terms.years
    params = None
    if posterior is not None:
        params = posterior.take((block * BLOCK + np.arange(n)) % posterior.draws)
    price = process.paths(rng, n, months, params)  # [months, n]
    q = terms.monthly_units()[:, None]
    pay = np.maximum(terms.floor - price, 0.0)
    pay *= q
    out = {"year_price": price.reshape(years, 12, n).mean(axis=1).sum(axis=1)}
    if with_project:
        out["revenue_market"] = (price * q).reshape(years, 12, n).sum(axis=1).sum(axis=1)
    if terms.upside_share > 0:
        back = np.maximum(price - terms.strike, 0.0)
        back *= terms.upside_share * q * terms.upside_months()[:, None]
        if terms.upside_cap_usd is not None:  # at most the cap per contract year
            yearly = back.reshape(years, 12, n).sum(axis=1)
            factor = np.minimum(1.0, terms.upside_cap_usd / np.maximum(yearly, 1e-300))
            back *= np.repeat(factor, 12, axis=0)
        out["upside"] = np.array([float(back.sum())])
        net = pay - back
    else:
        out["upside"] = np.zeros(1)
        net = pay
    if with_project:
        out["revenue_floor"] = out["revenue_market"] + net.reshape(years, 12, n).sum(axis=1).sum(
            axis=1
        )
    out["by_year"] = pay.reshape(years, 12, n).sum(axis=1)  # [years, n]
    out["pv"] = (net * disc[:, None]).sum(axis=0)  # [n]
    return out


def _tail(values: np.ndarray) -> tuple[float, float]:
    """P95 and CVaR95 (mean of the values at or above the P95)."""
    p95 = float(np.percentile(values, 100 * TAIL))
    return p95, float(values[values >= p95].mean())


def value_floor(
    process: PriceProcess,
    terms: FloorTerms,
    paths: int = 100_000,
    seed: int = 0,
    rate: float = 0.04,
    chunk_paths: int = 65_536,
    workers: int = 1,
    project: Project | None = None,
    posterior: ParameterPosterior | None = None,
    level: float = 0.9,
) -> FloorValuation:
    """Expected, P95, CVaR95 and present value of the floor's cost over ``paths`` paths.

    With ``posterior`` the price model's parameters are uncertain: path ``j`` uses draw
    ``j mod draws`` (``process`` gives the start price and the dumping regime), and
    ``uncertainty`` holds the central ``level`` interval of the expected cost and of the
    payout's present value over the draws (closed form per draw). ``chunk_paths`` bounds
    memory; ``workers`` threads simulate blocks in parallel; neither changes the results.
    """
    if paths < 2:
        raise InputError(f"paths {paths}: at least 2 needed")
    if chunk_paths < 1:
        raise InputError(f"chunk_paths {chunk_paths}: must be >= 1")
    if workers < 1:
        raise InputError(f"workers {workers}: must be >= 1")
    from concurrent.futures import ThreadPoolExecutor

    months = 12 * terms.years
    disc = np.exp(-rate * np.arange(1, months + 1) / 12.0)
    blocks = _blocks(paths)
    per_chunk = max(1, chunk_paths // BLOCK, workers)
    by_year = np.empty((terms.years, paths))
    pv = np.empty(paths)
    sums: dict[str, np.ndarray] = {}
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for start in range(0, len(blocks), per_chunk):
            chunk = blocks[start : start + per_chunk]
            parts = pool.map(
                lambda bn: _block(
                    process, terms, seed, bn[0], bn[1], disc, project is not None, posterior
                ),
                chunk,
            )
            for (b, n), part in zip(chunk, parts, strict=True):
                lo = b * BLOCK
                by_year[:, lo : lo + n] = part.pop("by_year")
                pv[lo : lo + n] = part.pop("pv")
                for key, value in part.items():
                    sums.setdefault(key, np.zeros((len(blocks), value.size)))[b] = value
    total = by_year.sum(axis=0)
    mean = {k: v.sum(axis=0) / paths for k, v in sums.items()}
    annual = pd.DataFrame(
        {
            "year": np.arange(1, terms.years + 1),
            "volume_tpa": terms.volumes,
            "expected_cost": by_year.mean(axis=1),
            "p95_cost": np.percentile(by_year, 95, axis=1),
            "expected_price": mean["year_price"],
        }
    )
    p95, cvar = _tail(total)
    pv_p95, pv_cvar = _tail(pv)
    result = FloorValuation(
        expected_cost=float(total.mean()),
        expected_cost_se=float(total.std(ddof=1) / math.sqrt(paths)),
        p95_cost=p95,
        cvar95_cost=cvar,
        present_value=float(pv.mean()),
        present_value_p95=pv_p95,
        present_value_cvar95=pv_cvar,
        present_value_se=float(pv.std(ddof=1) / math.sqrt(paths)),
        expected_upside_receipts=float(mean["upside"][0]),
        probability_of_payout=float((total > 0).mean()),
        annual=annual,
        paths=paths,
        seed=seed,
        settings={
            "rate": rate,
            "discounting": "continuous at rate, payment at each month end",
            "block_paths": BLOCK,
            "process": process.to_dict(),
            "terms": terms.to_dict(),
        },
    )
    if posterior is not None:
        result.uncertainty = parameter_intervals(process, terms, posterior, rate, level)
    if project is not None:
        result.project = project_economics(
            project, terms, rate, mean["revenue_market"], mean["revenue_floor"]
        )
    return result


def parameter_intervals(
    process: PriceProcess,
    terms: FloorTerms,
    posterior: ParameterPosterior,
    rate: float,
    level: float,
) -> dict[str, Any]:
    """Central ``level`` intervals over the posterior draws of the expected cost (gross,
    undiscounted) and of the payout's present value, each exact given its draw."""
    args = (posterior.kappa, posterior.theta, posterior.sigma, process.s0, terms.floor,
            terms.monthly_units(), process.dumping)  # fmt: skip
    cost = expected_floor_payout(*args)
    present = expected_floor_payout(*args, rate=rate)
    return {
        "method": "expected cost given each posterior draw of the price model (closed form), "
        "central interval over the draws",
        "expected_cost": interval(cost, level),
        "payout_present_value": interval(present, level),
        "parameters": posterior.summary(level),
    }


def project_economics(
    project: Project,
    terms: FloorTerms,
    rate: float,
    revenue_market: np.ndarray,
    revenue_floor: np.ndarray,
) -> dict[str, Any]:
    """NPV (discounted at ``rate``, annual, end of year) and IRR of expected cash flows,
    without and with the floor: ``-capex``, then revenue - unit_cost x volume each year."""
    cost = project.unit_cost * terms.monthly_units().reshape(terms.years, 12).sum(axis=1)
    out: dict[str, Any] = {"capex_usd": project.capex_usd, "unit_cost": project.unit_cost}
    for name, revenue in (("without_floor", revenue_market), ("with_floor", revenue_floor)):
        flows = np.concatenate([[-project.capex_usd], revenue - cost])
        years = np.arange(len(flows))
        out[name] = {
            "npv_usd": float(flows @ np.exp(-rate * years)),
            "irr": irr(flows),
            "expected_revenue_usd": float(revenue.sum()),
        }
    return out


def irr(flows: np.ndarray) -> float | None:
    """Internal rate of return (annual, compounding) of ``flows``; None if it has no root."""

    def npv(r: float) -> float:
        return float(np.sum(flows / (1.0 + r) ** np.arange(len(flows))))

    lo, hi = -0.99, 10.0
    if np.sign(npv(lo)) == np.sign(npv(hi)):
        return None
    return float(brentq(npv, lo, hi, xtol=1e-10))
