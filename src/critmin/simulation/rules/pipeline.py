"""The licence pipeline: metal that exporters hold in China while their licences are reviewed.

Under a licence, an exporter with a foreign contract files an application for each shipment
and buys the metal in China (or keeps it from its own output) when it files, holding it
until the decision: ``held_share`` of the volume applied for (assumption 1, range 0-1 in
``docs/backtests.md``). Applications come at the covered share of the base export flow for as
long as the measure is in force (the foreign contracts of the base year); each is decided
after a review time drawn evenly between ``1 - processing_spread`` and ``1 + processing_spread``
times ``processing_working_days`` (the same distribution that times the compiled approvals,
:func:`decided_share`). A decision exports ``approval_rate`` of the volume (the approvals the
compiled cap lets through) and releases the rest to China's market.

Day by day, with ``i(s)`` the volume filed on day ``s`` and ``F`` the distribution of the
review time (days), the volume decided on day ``d`` is ``r(d) = sum_s i(s) (F(d - s) -
F(d - s - 1))``; filing at a constant rate from the start, ``r(d) = F(d - start)``, which is
exactly the licence's legal share over ``approval_rate`` (the compiler's approvals). The
pipeline's stock is ``sum (i - r)``. A month's values are the means of its days, as shares of
the base monthly flow: held stock at the end of month ``m`` = ``sum_{k<=m} (applied_k -
approved_k - rejected_k)`` x the base monthly flow.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from critmin.simulation.rules.schema import Licence, Measure

CALENDAR_PER_WORKING_DAY = 7.0 / 5.0


def decided_share(licence: Licence, elapsed: np.ndarray) -> np.ndarray:
    """Share of applications decided within ``elapsed`` calendar days of filing (0 before the
    first decisions, 1 once ``(1 + processing_spread) x`` the processing time has passed)."""
    lag = licence.processing_working_days * CALENDAR_PER_WORKING_DAY
    first = lag * (1.0 - licence.processing_spread)
    last = lag * (1.0 + licence.processing_spread)
    days = np.asarray(elapsed, dtype=float)
    if last <= first:
        return np.where(days >= last, 1.0, 0.0)
    out: np.ndarray = np.clip((days - first) / (last - first), 0.0, 1.0)
    return np.where(days >= last, 1.0, out)


@dataclass(frozen=True)
class Pipeline:
    """Monthly licence pipeline of one flow, as shares of its base monthly flow: volume
    ``applied`` for (bought in China and held), ``approved`` (exported) and ``rejected``
    (released to China's market) by the month's decisions."""

    applied: np.ndarray
    approved: np.ndarray
    rejected: np.ndarray

    @property
    def net(self) -> np.ndarray:
        """Net intake each month: applied - approved - rejected (shares of the base monthly
        flow)."""
        out: np.ndarray = self.applied - self.approved - self.rejected
        return out

    @property
    def held(self) -> np.ndarray:
        """Stock held at the end of each month (shares of the base monthly flow)."""
        out: np.ndarray = np.cumsum(self.net)
        return out

    def __add__(self, other: Pipeline) -> Pipeline:
        return Pipeline(self.applied + other.applied, self.approved + other.approved,
                        self.rejected + other.rejected)


def measure_pipeline(
    measure: Measure, month_of_day: np.ndarray, coverage: float, active: np.ndarray
) -> Pipeline:
    """The pipeline of one licence ``measure`` on a flow of which it covers ``coverage`` (the
    covered destinations' share times the product coverage); ``month_of_day`` is the month
    index of each day of the horizon, ``active`` whether the measure is in force that day.
    The pipeline starts empty on the horizon's first day (a measure in force before it
    files from then on)."""
    assert measure.licence is not None
    lic = measure.licence
    filed = np.where(active, coverage * lic.held_share, 0.0)
    cdf = decided_share(lic, np.arange(len(filed), dtype=float))
    kernel = np.diff(cdf, prepend=0.0)
    decided = np.convolve(filed, kernel)[: len(filed)]
    months = int(month_of_day[-1]) + 1
    count = np.bincount(month_of_day, minlength=months).astype(float)

    def monthly(x: np.ndarray) -> np.ndarray:
        out: np.ndarray = np.bincount(month_of_day, weights=x, minlength=months) / count
        return out

    rate = lic.approval_rate
    return Pipeline(monthly(filed), monthly(rate * decided), monthly((1.0 - rate) * decided))


def empty_pipeline(months: int) -> Pipeline:
    """No licence on the flow."""
    return Pipeline(np.zeros(months), np.zeros(months), np.zeros(months))
