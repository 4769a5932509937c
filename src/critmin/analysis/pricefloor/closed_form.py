"""Closed forms of a floor's expected payout: the put strip under GBM (Black-Scholes) and the
exact expected payout under the OU log price with the two-state dumping regime.

Under OU, ``x_m = ln P_m`` given ``x_0`` is normal with mean
``mu_m = theta + (x_0 - theta) phi^m`` and variance ``v_m = sigma^2 (1 - phi^(2m)) / (2 kappa)``,
``phi = exp(-kappa dt)``; the dumping state is independent of ``x`` and, starting calm, is on at
``t`` with probability ``p(t) = pi (1 - exp(-(a + b) t))``, ``pi = a / (a + b)``, ``a`` the hazard,
``b = 1 / duration``. So, with ``Put(K; mu, v) = K N(d) - exp(mu + v/2) N(d - sqrt v)``,
``d = (ln K - mu) / sqrt v``::

    E max(K - P_m, 0) = (1 - p_m) Put(K; mu_m, v_m)
                        + p_m (1 - depth) Put(K / (1 - depth); mu_m, v_m)

Everything is vectorised over parameter draws (the leading axis). Units: prices in the
commodity's unit, volume in priced units per month, money USD, rates per year.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtr

from critmin.analysis.pricefloor.process import DT, Dumping
from critmin.analysis.pricefloor.terms import FloorTerms

Array = np.ndarray
Values = np.ndarray | float
CALM = Dumping()


def dumping_probability(dumping: Dumping, t_years: Array) -> Array:
    """P(dumping at time t) for the regime starting calm (0 when the regime is off)."""
    if not dumping.active:
        return np.zeros_like(t_years, dtype=float)
    a, b = dumping.hazard, 1.0 / dumping.duration_years
    return a / (a + b) * (1.0 - np.exp(-(a + b) * t_years))


def _put(strike: float, mu: Array, var: Array) -> Array:
    """E max(K - e^X, 0) for X ~ N(mu, var) (undiscounted); var > 0."""
    sd = np.sqrt(var)
    d = (math.log(strike) - mu) / sd
    return np.asarray(strike * ndtr(d) - np.exp(mu + 0.5 * var) * ndtr(d - sd))


def ou_moments(
    kappa: Values, theta: Values, sigma: Values, s0: float, months: int
) -> tuple[Array, Array]:
    """Mean and variance of ``ln P`` at month ends 1..months, shape [draw, month]."""
    kappa, theta, sigma = (np.atleast_1d(np.asarray(v, float))[:, None]
                           for v in (kappa, theta, sigma))  # fmt: skip
    m = np.arange(1, months + 1)[None, :]
    phi_m = np.exp(-kappa * DT * m)
    mu = theta + (math.log(s0) - theta) * phi_m
    var = sigma**2 * (1.0 - phi_m**2) / (2.0 * kappa)
    return mu, var


def expected_floor_payout(
    kappa: Values,
    theta: Values,
    sigma: Values,
    s0: float,
    floor: float,
    units: Array,
    dumping: Dumping = CALM,
    rate: float = 0.0,
) -> Array:
    """Expected total payout ``sum_m units_m E max(K - P_m, 0) exp(-rate t_m)`` per draw (USD).

    ``units`` is the priced volume of each month (kg or t), its length the number of months;
    ``kappa > 0`` (OU). ``rate = 0`` gives the undiscounted expected cost.
    """
    months = len(units)
    mu, var = ou_moments(kappa, theta, sigma, s0, months)
    t = np.arange(1, months + 1) * DT
    p = dumping_probability(dumping, t)[None, :]
    per_unit = (1.0 - p) * _put(floor, mu, var)
    if dumping.active:
        kept = 1.0 - dumping.depth
        per_unit = per_unit + p * kept * _put(floor / kept, mu, var)
    weights = np.asarray(units, float) * np.exp(-rate * t)
    return np.asarray(per_unit @ weights)


def black_scholes_put(s0: float, strike: float, rate: float, sigma: float, t: float) -> float:
    """European put on a GBM price, discounted at ``rate`` (continuous), maturity ``t`` years."""
    if t <= 0:
        return max(strike - s0, 0.0)
    if sigma <= 0:
        return max(strike * math.exp(-rate * t) - s0, 0.0)
    d1 = (math.log(s0 / strike) + (rate + 0.5 * sigma**2) * t) / (sigma * math.sqrt(t))
    d2 = d1 - sigma * math.sqrt(t)
    return float(strike * math.exp(-rate * t) * ndtr(-d2) - s0 * ndtr(-d1))


def closed_form_floor(s0: float, terms: FloorTerms, rate: float, sigma: float) -> float:
    """Present value of the floor under risk-neutral GBM: a strip of monthly puts on each
    month's priced volume."""
    return sum(
        float(q) * black_scholes_put(s0, terms.floor, rate, sigma, m / 12.0)
        for m, q in enumerate(terms.monthly_units(), start=1)
    )
