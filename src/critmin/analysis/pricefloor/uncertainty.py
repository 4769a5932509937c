"""Parameter uncertainty of the price model: the Bayesian posterior of the AR(1) on log prices.

The price history ``x_0 .. x_n`` (log prices, one every ``step`` years) follows
``x_{t+1} = a + b x_t + e``, ``e ~ N(0, s^2)``. Prior ``p(a, b, s^2) ~ 1 / s^2`` on
``0 < b < 1`` (mean reversion or, at the edge, none; explosive or oscillating dynamics are
excluded a priori). The untruncated posterior is the textbook normal-inverse-gamma one:
``s^2 ~ SSR / chi2(n - 2)``, ``(a, b) | s^2 ~ N(OLS, s^2 (X'X)^-1)``; draws outside ``0 < b < 1``
are rejected, which samples the truncated posterior exactly. Each draw maps to the OU
parameters by the exact discretisation: ``kappa = -ln(b) / step``, ``theta = a / (1 - b)``,
``sigma = s sqrt(2 kappa / (1 - b^2))``. Units: kappa per year, theta in ln(USD per unit),
sigma per sqrt(year).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from critmin.analysis.pricefloor.history import ESTIMATION_SERIES, series
from critmin.errors import InputError, unknown_value

B_MAX = 1.0 - 1e-9  # b this close to 1 is a random walk for any horizon that matters
MAX_ROUNDS = 200


@dataclass(frozen=True)
class ParameterPosterior:
    """Draws of the OU parameters (arrays of equal length) and how they were obtained."""

    kappa: np.ndarray
    theta: np.ndarray
    sigma: np.ndarray
    observations: int
    step_years: float
    acceptance: float  # share of untruncated draws with 0 < b < 1
    source: str = "synthetic"
    seed: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def draws(self) -> int:
        return int(self.kappa.size)

    def take(self, index: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(kappa, theta, sigma) of the draws at ``index``."""
        return self.kappa[index], self.theta[index], self.sigma[index]

    def summary(self, level: float = 0.9) -> dict[str, object]:
        """Posterior medians and central intervals of kappa, the long-run price and sigma."""
        lo, hi = (1 - level) / 2, (1 + level) / 2

        def band(values: np.ndarray) -> dict[str, float]:
            q = np.quantile(values, [0.5, lo, hi])
            return {"median": float(q[0]), "low": float(q[1]), "high": float(q[2])}

        return {
            "method": "Bayesian AR(1) on log prices, prior 1/s^2 on 0 < b < 1 "
            "(docs/methods/pricefloor.md)",
            "source": self.source,
            "observations": self.observations,
            "step_years": self.step_years,
            "draws": self.draws,
            "seed": self.seed,
            "acceptance": self.acceptance,
            "level": level,
            "kappa_per_year": band(self.kappa),
            "long_run_price": band(np.exp(self.theta)),
            "sigma": band(self.sigma),
            "notes": self.notes,
        }


def ar1_posterior(
    log_prices: np.ndarray,
    step_years: float = 1.0,
    draws: int = 1000,
    seed: int = 0,
    source: str = "synthetic",
) -> ParameterPosterior:
    """``draws`` posterior draws of (kappa, theta, sigma) from a regular series of log prices."""
    x = np.asarray(log_prices, dtype=float)
    n = len(x) - 1
    if n < 4 or not np.all(np.isfinite(x)):
        raise InputError(f"price series: {len(x)} finite points; at least 5 needed")
    if draws < 2:
        raise InputError(f"draws {draws}: at least 2 needed")
    design = np.column_stack([np.ones(n), x[:-1]])
    coef, *_ = np.linalg.lstsq(design, x[1:], rcond=None)
    resid = x[1:] - design @ coef
    ssr = float(resid @ resid)
    chol = np.linalg.cholesky(np.linalg.inv(design.T @ design))
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed)))
    kept: list[np.ndarray] = []
    total = accepted = 0
    for _ in range(MAX_ROUNDS):
        batch = max(draws, 256)
        s2 = ssr / rng.chisquare(n - 2, batch)
        beta = coef[None, :] + np.sqrt(s2)[:, None] * (rng.standard_normal((batch, 2)) @ chol.T)
        ok = (beta[:, 1] > 0) & (beta[:, 1] < B_MAX)
        total += batch
        accepted += int(ok.sum())
        kept.append(np.column_stack([beta[ok], s2[ok]]))
        if accepted >= draws:
            break
    else:
        raise InputError(
            f"price series: only {accepted} of {total} posterior draws show mean reversion "
            "(0 < b < 1); set kappa, sigma and the long-run price instead"
        )
    a, b, s2 = np.concatenate(kept)[:draws].T
    kappa = -np.log(b) / step_years
    sigma = np.sqrt(s2 * 2.0 * kappa / (1.0 - b**2))
    notes = []
    if n < 20:
        notes.append(
            f"only {n} transitions: the posterior is wide and leans on the prior 0 < b < 1"
        )
    return ParameterPosterior(
        kappa=kappa,
        theta=a / (1.0 - b),
        sigma=sigma,
        observations=len(x),
        step_years=step_years,
        acceptance=accepted / total,
        source=source,
        seed=seed,
        notes=notes,
    )


def posterior(commodity: str, draws: int = 1000, seed: int = 0) -> ParameterPosterior:
    """Posterior of the price model of ``commodity`` from its embedded estimation series."""
    if commodity not in ESTIMATION_SERIES:
        raise unknown_value("commodity", commodity, ESTIMATION_SERIES)
    history = series(ESTIMATION_SERIES[commodity])
    span = f"{int(history.index[0])}-{int(history.index[-1])}"
    post = ar1_posterior(
        np.log(history.to_numpy(float)),
        step_years=1.0,
        draws=draws,
        seed=seed,
        source=f"annual series {ESTIMATION_SERIES[commodity]} {span}",
    )
    post.notes.append(
        "annual averages treated as point observations: they smooth monthly volatility"
    )
    return post


def interval(values: np.ndarray, level: float) -> dict[str, float]:
    """Central ``level`` interval and median of ``values``."""
    if not 0 < level < 1:
        raise InputError(f"level {level}: must lie in (0, 1)")
    q = np.quantile(values, [(1 - level) / 2, 0.5, (1 + level) / 2])
    return {"level": level, "low": float(q[0]), "median": float(q[1]), "high": float(q[2])}
