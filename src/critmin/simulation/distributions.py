"""Distributions a scenario may give instead of a number, for ensembles.

``{dist: uniform, low, high}``, ``{dist: triangular, low, mode, high}``,
``{dist: lognormal, median, sigma}`` (sigma of the log) and ``{dist: bernoulli, p}`` (1 with
probability ``p``, else 0: whether an event happens). A single run without sampling uses the
central value: the middle of a uniform, the mode of a triangular, the median of a lognormal,
and 1 for a Bernoulli with ``p >= 0.5``.
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

FloatArray = np.ndarray


class _Dist(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def support(self) -> tuple[float, float]:
        raise NotImplementedError

    def central(self) -> float:
        raise NotImplementedError

    def sample(self, rng: np.random.Generator, n: int) -> FloatArray:
        raise NotImplementedError


class Uniform(_Dist):
    dist: Literal["uniform"]
    low: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if not self.low <= self.high:
            raise ValueError(f"uniform needs low <= high, got low={self.low}, high={self.high}")
        return self

    def support(self) -> tuple[float, float]:
        return self.low, self.high

    def central(self) -> float:
        return 0.5 * (self.low + self.high)

    def sample(self, rng: np.random.Generator, n: int) -> FloatArray:
        return rng.uniform(self.low, self.high, n)


class Triangular(_Dist):
    dist: Literal["triangular"]
    low: float
    mode: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> Triangular:
        if not (self.low <= self.mode <= self.high and self.low < self.high):
            raise ValueError(
                f"triangular needs low <= mode <= high and low < high, got {self.low}, "
                f"{self.mode}, {self.high}"
            )
        return self

    def support(self) -> tuple[float, float]:
        return self.low, self.high

    def central(self) -> float:
        return self.mode

    def sample(self, rng: np.random.Generator, n: int) -> FloatArray:
        return rng.triangular(self.low, self.mode, self.high, n)


class Lognormal(_Dist):
    dist: Literal["lognormal"]
    median: float = Field(gt=0)
    sigma: float = Field(ge=0)

    def support(self) -> tuple[float, float]:
        return 0.0, float("inf")

    def central(self) -> float:
        return self.median

    def sample(self, rng: np.random.Generator, n: int) -> FloatArray:
        return rng.lognormal(float(np.log(self.median)), self.sigma, n)


class Bernoulli(_Dist):
    dist: Literal["bernoulli"]
    p: float = Field(ge=0, le=1)

    def support(self) -> tuple[float, float]:
        return 0.0, 1.0

    def central(self) -> float:
        return 1.0 if self.p >= 0.5 else 0.0

    def sample(self, rng: np.random.Generator, n: int) -> FloatArray:
        return (rng.random(n) < self.p).astype(float)


Distribution = Annotated[Uniform | Triangular | Lognormal | Bernoulli, Field(discriminator="dist")]
Number = float | Distribution


def support(value: Number) -> tuple[float, float]:
    """Smallest and largest value ``value`` can take."""
    if isinstance(value, int | float):
        return float(value), float(value)
    return value.support()


def draw(value: Number, rng: np.random.Generator | None, n: int) -> FloatArray:
    """``n`` draws of ``value`` (its central value when ``rng`` is None)."""
    if isinstance(value, int | float):
        return np.full(n, float(value))
    if rng is None:
        return np.full(n, value.central())
    return value.sample(rng, n)
