"""Price-responsive blocks: the building unit of both engines.

A block's quantity at price index ``pi`` (1 = base price) is ``clip(a * pi + c, lo, hi)``.
Supply blocks have ``a >= 0`` (marginal cost ``(q - c) / a``), demand blocks ``a <= 0``
(willingness to pay ``(c - q) / -a``). Arrays are ``[block, region, scenario]``: the scenario
axis last, so that sums over blocks and regions add contiguous rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Array = np.ndarray


@dataclass
class Blocks:
    """Stacked linear blocks ``clip(a * pi + c, lo, hi)`` over [block, region, scenario]."""

    a: Array
    c: Array
    lo: Array
    hi: Array

    def quantity(self, pi: Array) -> Array:
        """Quantity of every block at region prices ``pi`` [region, scenario]."""
        result: Array = np.minimum(np.maximum(self.a * pi + self.c, self.lo), self.hi)
        return result

    def total(self, pi: Array) -> Array:
        """Sum over blocks at region prices ``pi`` [region, scenario]."""
        result: Array = self.quantity(pi).sum(0)
        return result

    def take(self, index: Array) -> Blocks:
        """The blocks of the scenarios ``index``."""
        return Blocks(
            self.a[..., index], self.c[..., index], self.lo[..., index], self.hi[..., index]
        )


def stack(parts: list[tuple[Array, Array, Array, Array]]) -> Blocks:
    """Blocks from ``(a, c, lo, hi)`` tuples of [region, scenario] arrays."""
    a, c, lo, hi = (np.stack([p[i] for p in parts]) for i in range(4))
    return Blocks(a, c, lo, hi)
