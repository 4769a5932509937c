"""The price process: Ornstein-Uhlenbeck on log price plus a two-state dumping regime.

Monthly steps (``dt = 1/12`` year). The diffusive part ``x = ln P`` follows

* ``kappa > 0``: exact OU transition ``x' = theta + (x - theta) phi + s eps``, with
  ``phi = exp(-kappa dt)`` and ``s = sigma sqrt((1 - phi^2) / (2 kappa))``;
* ``kappa = 0``: arithmetic Brownian motion of the log price (geometric Brownian motion of the
  price) ``x' = x + drift dt + sigma sqrt(dt) eps``.

The regime ``d`` (0 normal, 1 dumping) is a continuous-time Markov chain observed at month
ends: calm spells last Exp(``hazard``) years on average ``1 / hazard``, dumping spells
Exp with mean ``duration``; it starts calm. The price is
``P = exp(x) (1 - depth d)``: a dumping episode cuts the price by ``depth`` while it lasts.
Units: prices in the commodity's unit (USD/kg or USD/t), rates per year.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from critmin.analysis.pricefloor.history import ESTIMATION_SERIES, series
from critmin.errors import InputError, unknown_value

DT = 1.0 / 12.0
MIN_OBSERVATIONS = 8


@dataclass(frozen=True)
class Dumping:
    """Dumping regime: ``hazard`` episodes per year, price cut ``depth`` (0-1), mean
    ``duration_years`` of an episode."""

    hazard: float = 0.0
    depth: float = 0.0
    duration_years: float = 1.0

    def __post_init__(self) -> None:
        if self.hazard < 0:
            raise InputError(f"dumping hazard {self.hazard}: must be >= 0 per year")
        if not 0 <= self.depth < 1:
            raise InputError(f"dumping depth {self.depth}: must lie in [0, 1)")
        if self.duration_years <= 0:
            raise InputError(f"dumping duration {self.duration_years}: must be > 0 years")

    @property
    def active(self) -> bool:
        return self.hazard > 0 and self.depth > 0


# Assumptions (docs/methods/pricefloor.md, "Dumping presets"): anchored on the 2022-2024 NdPr
# fall (124 -> 55 USD/kg, -56 %) and the 2011-2016 collapse after the export-quota spike.
DUMPING_PRESETS = {
    "none": Dumping(),
    "moderate": Dumping(hazard=0.10, depth=0.30, duration_years=1.5),
    "severe": Dumping(hazard=0.20, depth=0.50, duration_years=2.0),
}


def dumping_preset(name: str) -> Dumping:
    """A named dumping regime (none, moderate, severe)."""
    if name not in DUMPING_PRESETS:
        raise unknown_value("dumping preset", name, DUMPING_PRESETS)
    return DUMPING_PRESETS[name]


@dataclass(frozen=True)
class PriceProcess:
    """Parameters of the price model (see module docstring); ``s0`` is the reference price
    at the start, ``theta`` the long-run mean of the log price (``kappa > 0``)."""

    s0: float
    kappa: float
    theta: float
    sigma: float
    drift: float = 0.0
    dumping: Dumping = Dumping()
    estimated_from: str = "user"

    def __post_init__(self) -> None:
        if self.s0 <= 0:
            raise InputError(f"reference price {self.s0}: must be > 0")
        if self.kappa < 0:
            raise InputError(f"kappa {self.kappa}: must be >= 0 per year")
        if self.sigma < 0:
            raise InputError(f"sigma {self.sigma}: must be >= 0 per sqrt(year)")

    @property
    def long_run_price(self) -> float:
        """exp(theta): the median long-run price (USD per unit) when kappa > 0."""
        return math.exp(self.theta)

    def to_dict(self) -> dict[str, object]:
        out = asdict(self)
        out["long_run_price"] = self.long_run_price if self.kappa > 0 else None
        return out

    @classmethod
    def gbm(cls, s0: float, rate: float, sigma: float) -> PriceProcess:
        """Risk-neutral geometric Brownian motion: log drift ``rate - sigma^2 / 2``."""
        return cls(s0=s0, kappa=0.0, theta=math.log(s0), sigma=sigma,
                   drift=rate - 0.5 * sigma**2, estimated_from="gbm")  # fmt: skip

    def paths(
        self,
        rng: np.random.Generator,
        n: int,
        months: int,
        parameters: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    ) -> np.ndarray:
        """``n`` price paths over ``months`` months after the start, shape [months, n]
        (months-major so that each month's update works on contiguous memory).

        ``parameters`` = (kappa, theta, sigma), one value per path (all kappa > 0), replaces
        the process's own: paths under parameter uncertainty.
        """
        x = rng.standard_normal((months, n))
        x0 = math.log(self.s0)
        if parameters is not None or self.kappa > 0:
            kappa, theta, sigma = (
                (self.kappa, self.theta, self.sigma) if parameters is None else parameters
            )
            phi = np.exp(-np.asarray(kappa) * DT)
            scale = sigma * np.sqrt((1 - phi**2) / (2 * np.asarray(kappa)))
            shift = theta * (1 - phi)
            x *= scale
            x[0] += shift + phi * x0
            for t in range(1, months):  # x_t = theta (1 - phi) + phi x_{t-1} + s eps_t
                x[t] += shift
                x[t] += phi * x[t - 1]
        else:
            x *= self.sigma * math.sqrt(DT)
            x += self.drift * DT
            x[0] += x0
            np.cumsum(x, axis=0, out=x)
        np.exp(x, out=x)
        if self.dumping.active:
            regime = self._regime(rng, n, months)
            np.multiply(x, 1.0 - self.dumping.depth, out=x, where=regime)
        return x

    def _regime(self, rng: np.random.Generator, n: int, months: int) -> np.ndarray:
        """0/1 dumping state at each month end, shape [months, n].

        A continuous-time two-state Markov chain: calm spells last Exp(hazard) years,
        dumping spells Exp(1 / duration_years); it starts calm. Switch times are drawn spell
        by spell (a handful per path) and turned into monthly states with one cumulative sum.
        """
        horizon = months * DT
        flips = np.zeros((months + 1, n), dtype=np.int8)
        clock = np.zeros(n)
        dumping = False
        alive = np.ones(n, dtype=bool)
        while alive.any():
            mean = self.dumping.duration_years if dumping else 1.0 / self.dumping.hazard
            clock += rng.exponential(mean, n)
            alive &= clock < horizon
            # first month end at or after the switch: month index ceil(clock / DT) - 1
            month = np.minimum(np.ceil(clock / DT).astype(np.int64) - 1, months)
            idx = np.flatnonzero(alive)  # one switch per path per spell: no repeated index
            flips[month[idx], idx] += -1 if dumping else 1
            dumping = not dumping
        for t in range(1, months):  # running sum over months (row by row: contiguous)
            flips[t] += flips[t - 1]
        return flips[:months].view(bool)


def estimate(commodity: str, s0: float | None = None, dumping: Dumping = Dumping()) -> PriceProcess:
    """OU parameters from the embedded annual history (AR(1) by least squares on log prices).

    ``ln P_{t+1} = a + b ln P_t + e``: ``kappa = -ln b`` (per year), ``theta = a / (1 - b)``,
    ``sigma = sd(e) sqrt(2 kappa / (1 - b^2))``. If ``b`` is not in (0, 1) no mean reversion
    is identified and the model falls back to a driftless log random walk with
    ``sigma = sd(diff ln P)``. ``s0`` defaults to the newest price of the level series.
    """
    from critmin.analysis.pricefloor.history import latest_price

    if commodity not in ESTIMATION_SERIES:
        raise unknown_value("commodity", commodity, ESTIMATION_SERIES)
    history = series(ESTIMATION_SERIES[commodity])
    start = latest_price(commodity)[0] if s0 is None else s0
    x = np.log(history.to_numpy(float))
    b, a, resid = _ar1(x)
    label = f"AR(1) on ln annual prices, series {ESTIMATION_SERIES[commodity]} {_span(history)}"
    if len(x) < MIN_OBSERVATIONS:
        label += f" (only {len(x)} observations: weak estimate, consider setting kappa/sigma)"
    if 0 < b < 1:
        kappa = -math.log(b)
        sigma = float(np.std(resid, ddof=2)) * math.sqrt(2 * kappa / (1 - b**2))
        return PriceProcess(s0=start, kappa=kappa, theta=a / (1 - b), sigma=sigma,
                            dumping=dumping, estimated_from=label)  # fmt: skip
    sigma = float(np.std(np.diff(x), ddof=1))
    return PriceProcess(s0=start, kappa=0.0, theta=math.log(start), sigma=sigma,
                        dumping=dumping, estimated_from=label + " (random walk)")  # fmt: skip


def _ar1(x: np.ndarray) -> tuple[float, float, np.ndarray]:
    """OLS of x[1:] on [1, x[:-1]]: slope, intercept, residuals."""
    design = np.column_stack([np.ones(len(x) - 1), x[:-1]])
    coef, *_ = np.linalg.lstsq(design, x[1:], rcond=None)
    resid = x[1:] - design @ coef
    return float(coef[1]), float(coef[0]), resid


def _span(s: pd.Series) -> str:
    return f"{int(s.index[0])}-{int(s.index[-1])}"
