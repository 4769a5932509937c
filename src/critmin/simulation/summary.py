"""Per-scenario totals of an ensemble, laid out for shared memory and labelled for users."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

Array = np.ndarray


def _layout(n: int, n_s: int, n_r: int) -> dict[str, tuple[tuple[int, ...], type]]:
    """Shape and dtype of each field (floats first, then integers)."""
    per_stage = (n, n_s, n_r)
    return {
        "reference": (per_stage, np.float64),
        "consumption": (per_stage, np.float64),
        "shortfall": (per_stage, np.float64),
        "demand_given_up": (per_stage, np.float64),
        "unmet_need": (per_stage, np.float64),
        "peak_price": (per_stage, np.float64),
        "mean_price": (per_stage, np.float64),
        "value_lost": ((n, n_r), np.float64),
        "balance_error": ((n,), np.float64),
        "first_short": ((n, n_r), np.int64),
        "last_short": ((n, n_r), np.int64),
        "steps": ((n,), np.int64),
    }


@dataclass
class Summary:
    """Totals over the horizon per scenario: t of final use [n, S, R] (reference at base
    prices, consumption, shortfall = the monthly sum of reference - consumption where positive
    = given up + unmet), price indices [n, S, R] (peak, mean), USD lost by
    each region's buyers [n, R], first and last short month [n, R] (0 = never), the largest
    node imbalance [n] (share of the node's volume) and Newton steps [n] (-1: failed)."""

    reference: Array
    consumption: Array
    shortfall: Array
    demand_given_up: Array
    unmet_need: Array
    peak_price: Array
    mean_price: Array
    value_lost: Array
    balance_error: Array
    first_short: Array
    last_short: Array
    steps: Array

    @classmethod
    def zeros(cls, n: int, n_stages: int, n_regions: int, buffer: Any = None) -> Summary:
        """A zero summary of ``n`` scenarios, in ``buffer`` (zero-filled, of at least
        ``nbytes`` bytes, e.g. shared memory) when given."""
        arrays: dict[str, Array] = {}
        offset = 0
        for name, (shape, dtype) in _layout(n, n_stages, n_regions).items():
            if buffer is None:
                arrays[name] = np.zeros(shape, dtype=dtype)
            else:
                count = int(np.prod(shape))
                arrays[name] = np.frombuffer(buffer, dtype, count, offset).reshape(shape)
                offset += count * np.dtype(dtype).itemsize
        return cls(**arrays)

    @staticmethod
    def nbytes(n: int, n_stages: int, n_regions: int) -> int:
        return sum(
            int(np.prod(shape)) * np.dtype(dtype).itemsize
            for shape, dtype in _layout(n, n_stages, n_regions).values()
        )

    @property
    def n(self) -> int:
        return int(self.steps.shape[0])

    def rows(self, start: int, stop: int) -> Summary:
        """Scenarios ``start .. stop - 1`` (views)."""
        return Summary(**{k: getattr(self, k)[start:stop] for k in Summary.__dataclass_fields__})

    def fields(self) -> tuple[Array, ...]:
        """The arrays in the order the compiled kernel writes them."""
        return (
            self.reference, self.consumption, self.shortfall, self.demand_given_up,
            self.unmet_need,
            self.peak_price, self.mean_price, self.value_lost, self.first_short,
            self.last_short, self.balance_error, self.steps,
        )

    def dataset(self, stages: list[str], regions: list[str], units: list[str]) -> xr.Dataset:
        """Labelled [scenario, stage, country] (and [scenario, country]) totals."""
        dims = ("scenario", "stage", "country")
        span = np.where(self.first_short > 0, self.last_short - self.first_short + 1, 0)
        tonnes = {"units": "t over the horizon"}
        ds = xr.Dataset(
            {
                "reference": (dims, self.reference, tonnes),
                "consumption": (dims, self.consumption, tonnes),
                "shortfall": (dims, self.shortfall, tonnes),
                "demand_given_up": (dims, self.demand_given_up, tonnes),
                "unmet_need": (dims, self.unmet_need, tonnes),
                "peak_price_index": (dims, self.peak_price, {"units": "1 (base = 1)"}),
                "mean_price_index": (dims, self.mean_price, {"units": "1 (base = 1)"}),
                "value_lost": (("scenario", "country"), self.value_lost, {"units": "USD"}),
                "months_to_recovery": (
                    ("scenario", "country"), span.astype(float), {"units": "months"}
                ),
                "balance_error": (("scenario",), self.balance_error, {"units": "1"}),
                "newton_steps": (("scenario",), self.steps),
            },
            coords={
                "scenario": np.arange(self.n),
                "stage": stages,
                "country": regions,
                "unit": ("stage", units),
            },
        )
        return ds


class SummaryCollector:
    """Chunk summaries copied, as they arrive and in any order, into one summary."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.arrays: dict[str, Array] = {}
        self.filled = 0

    def add(self, start: int, part: Summary) -> None:
        for name in Summary.__dataclass_fields__:
            value = getattr(part, name)
            if name not in self.arrays:
                self.arrays[name] = np.empty((self.total, *value.shape[1:]), dtype=value.dtype)
            self.arrays[name][start : start + part.n] = value
        self.filled += part.n

    def summary(self) -> Summary:
        if self.filled != self.total:
            raise RuntimeError(f"{self.filled} of {self.total} scenarios collected")
        return Summary(**self.arrays)
