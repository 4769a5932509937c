"""Monte Carlo valuation of a price floor (contract for difference) and the project it backs.

The floor pays ``max(K - P_m, 0)`` per unit on the month's volume (``volume / 12``) for every
month ``m`` of the term; with ``upside_share`` the payer also receives that share of
``max(P_m - K, 0)`` (a two-sided contract for difference). Costs are discounted continuously at
``rate`` from the start (``exp(-rate t_m)``, ``t_m = m / 12`` years, payment at month end).
Paths are simulated in fixed blocks of :data:`BLOCK` paths, each from its own seed
(``SeedSequence(seed, spawn_key=(block,))``), and reduced block by block, so memory stays
bounded and results are bit-identical for a seed whatever ``chunk_paths`` is.
Units: price and floor in the commodity's unit (USD/kg or USD/t), volume in t/yr, money USD.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.stats import norm

from critmin.analysis.pricefloor.process import PriceProcess
from critmin.errors import InputError

BLOCK = 8192  # paths per random block (fixed: results never depend on chunking)
KG_PER_T = 1000.0


@dataclass(frozen=True)
class FloorTerms:
    """A floor: ``floor`` per unit, ``years`` long, on ``volume_tpa`` t/yr, paid on the
    gap to the reference price; ``upside_share`` of the excess flows back to the payer."""

    floor: float
    years: int
    volume_tpa: float
    unit: str = "USD/kg"
    upside_share: float = 0.0

    def __post_init__(self) -> None:
        if not self.floor > 0:
            raise InputError(f"floor {self.floor}: must be > 0")
        if self.years < 1:
            raise InputError(f"years {self.years}: must be at least 1")
        if not self.volume_tpa > 0:
            raise InputError(f"volume_tpa {self.volume_tpa}: must be > 0")
        if not 0 <= self.upside_share <= 1:
            raise InputError(f"upside_share {self.upside_share}: must lie in [0, 1]")

    @property
    def units_per_month(self) -> float:
        """Priced units per month (kg or t) of the volume."""
        per_t = KG_PER_T if self.unit.endswith("/kg") else 1.0
        return self.volume_tpa * per_t / 12.0


@dataclass(frozen=True)
class Project:
    """Project economics for NPV/IRR: ``capex_usd`` at the start, ``unit_cost`` per unit sold
    (same unit as the price), ``volume`` from the floor terms."""

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
    cost; P95 values are the 95th percentile over paths."""

    expected_cost: float  # total gross payout over the term, undiscounted
    p95_cost: float
    present_value: float  # expected discounted net cost
    present_value_p95: float
    present_value_se: float  # Monte Carlo standard error of present_value
    expected_upside_receipts: float
    probability_of_payout: float
    annual: pd.DataFrame  # year, expected_cost, p95_cost, expected_price
    paths: int
    seed: int
    settings: dict[str, Any] = field(default_factory=dict)
    project: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready document (keys documented in docs/methods/pricefloor.md)."""
        return {
            "expected_cost": self.expected_cost,
            "p95_cost": self.p95_cost,
            "present_value": self.present_value,
            "present_value_p95": self.present_value_p95,
            "present_value_se": self.present_value_se,
            "expected_upside_receipts": self.expected_upside_receipts,
            "probability_of_payout": self.probability_of_payout,
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
) -> dict[str, np.ndarray]:
    """Simulate block ``block`` (``n`` paths) and reduce it: per-path yearly payouts and
    discounted net cost, block sums of prices, upside receipts and project revenues."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(block,))))
    years, q = terms.years, terms.units_per_month
    price = process.paths(rng, n, 12 * years)  # [months, n]
    pay = np.maximum(terms.floor - price, 0.0)
    out = {"year_price": price.reshape(years, 12, n).mean(axis=1).sum(axis=1)}
    if with_project:
        out["revenue_market"] = price.reshape(years, 12, n).sum(axis=1).sum(axis=1) * q
    if terms.upside_share > 0:
        back = np.maximum(price - terms.floor, 0.0)
        back *= terms.upside_share
        out["upside"] = np.array([float((back.sum(axis=1) * q).sum())])
        net = pay - back
    else:
        out["upside"] = np.zeros(1)
        net = pay
    if with_project:
        out["revenue_floor"] = out["revenue_market"] + (
            net.reshape(years, 12, n).sum(axis=1) * q
        ).sum(axis=1)
    out["by_year"] = pay.reshape(years, 12, n).sum(axis=1) * q  # [years, n]
    out["pv"] = (net * disc[:, None]).sum(axis=0) * q  # [n]
    return out


def value_floor(
    process: PriceProcess,
    terms: FloorTerms,
    paths: int = 100_000,
    seed: int = 0,
    rate: float = 0.04,
    chunk_paths: int = 65_536,
    workers: int = 1,
    project: Project | None = None,
) -> FloorValuation:
    """Expected, P95 and present value of the floor's cost over ``paths`` simulated paths.

    ``chunk_paths`` bounds memory (paths simulated at once); ``workers`` threads simulate
    blocks in parallel. Neither changes the results for a given ``seed``.
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
                lambda bn: _block(process, terms, seed, bn[0], bn[1], disc, project is not None),
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
            "expected_cost": by_year.mean(axis=1),
            "p95_cost": np.percentile(by_year, 95, axis=1),
            "expected_price": mean["year_price"],
        }
    )
    result = FloorValuation(
        expected_cost=float(total.mean()),
        p95_cost=float(np.percentile(total, 95)),
        present_value=float(pv.mean()),
        present_value_p95=float(np.percentile(pv, 95)),
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
            "terms": dict(terms.__dict__),
        },
    )
    if project is not None:
        result.project = project_economics(
            project, terms, rate, mean["revenue_market"], mean["revenue_floor"]
        )
    return result


def project_economics(
    project: Project,
    terms: FloorTerms,
    rate: float,
    revenue_market: np.ndarray,
    revenue_floor: np.ndarray,
) -> dict[str, Any]:
    """NPV (discounted at ``rate``, annual, end of year) and IRR of expected cash flows,
    without and with the floor: ``-capex``, then revenue - unit_cost x volume each year."""
    cost = project.unit_cost * terms.units_per_month * 12.0
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


def black_scholes_put(s0: float, strike: float, rate: float, sigma: float, t: float) -> float:
    """European put on a GBM price, discounted at ``rate`` (continuous), maturity ``t`` years."""
    if t <= 0:
        return max(strike - s0, 0.0)
    if sigma <= 0:
        return max(strike * math.exp(-rate * t) - s0, 0.0)
    d1 = (math.log(s0 / strike) + (rate + 0.5 * sigma**2) * t) / (sigma * math.sqrt(t))
    d2 = d1 - sigma * math.sqrt(t)
    return float(strike * math.exp(-rate * t) * norm.cdf(-d2) - s0 * norm.cdf(-d1))


def closed_form_floor(s0: float, terms: FloorTerms, rate: float, sigma: float) -> float:
    """Present value of the floor under risk-neutral GBM: a strip of monthly puts."""
    q = terms.units_per_month
    return sum(
        q * black_scholes_put(s0, terms.floor, rate, sigma, m / 12.0)
        for m in range(1, 12 * terms.years + 1)
    )
