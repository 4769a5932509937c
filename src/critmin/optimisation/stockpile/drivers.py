"""Where the value of cooperation comes from (issue 20): an exact split of the saving by cost
component, the freight it loses, and the exposure indicators that explain its size.

Units: USD over the horizon; shares are fractions of tonnes. Formulas in
``docs/methods/stockpile.md``, section 3.1.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from critmin.optimisation.stockpile.config import StockpileConfig
from critmin.optimisation.stockpile.model import build_model
from critmin.optimisation.stockpile.results import StockpileSolution
from critmin.optimisation.stockpile.scenarios import ScenarioSet


def _components(solution: StockpileSolution, freight_usd_per_t: float) -> dict[str, float]:
    """Holding cost, expected damage and expected freight of one solution (USD)."""
    p = solution.probability
    freight = 0.0
    if solution.transfer is not None:
        inflow = solution.transfer.sum(["month", "ally", "partner", "material"])
        freight = float((p * inflow).sum()) * freight_usd_per_t
    expected_loss = float((solution.loss_usd.sum("ally") * p).sum())
    return {
        "holding": float(solution.holding_cost_usd.sum()),
        "damage": expected_loss - freight,
        "freight": freight,
    }


def exposure(scenarios: ScenarioSet) -> dict[str, dict[str, float]]:
    """Per ally: ``share_of_allied_shortfall`` (its expected tonnes short over the allies',
    all materials: size) and ``share_while_partners_unhurt`` (the part of its expected
    shortfall that falls in months in which no partner is short of that material: the
    asymmetry in timing that pooling can use)."""
    values = scenarios.shortfall.transpose("scenario", "month", "ally", "material").values
    p = scenarios.probability.values[:, None, None, None]
    allies = [str(a) for a in scenarios.shortfall["ally"].values]
    expected = (p * values).sum(axis=(0, 1, 3))  # [ally]
    total = float(expected.sum())
    out = {}
    for i, a in enumerate(allies):
        others = np.delete(values, i, axis=2).sum(axis=2)  # [scenario, month, material]
        alone_hit = (p[:, :, 0, :] * values[:, :, i, :] * (others <= 0)).sum()
        out[a] = {
            "share_of_allied_shortfall": float(expected[i] / total) if total > 0 else 0.0,
            "share_while_partners_unhurt": (
                float(alone_hit / expected[i]) if expected[i] > 0 else 0.0
            ),
        }
    return out


def cooperation_drivers(
    config: StockpileConfig,
    scenarios: ScenarioSet,
    alone: dict[str, StockpileSolution],
    joint: StockpileSolution,
) -> dict[str, Any]:
    """The value of cooperation (risk-neutral costs) split into holdings saved, damage
    avoided and freight paid (these add up to it exactly), the value it would have without
    freight (one more solve) and the allies' exposure (see :func:`exposure`)."""
    tau = config.costs.transfer_cost_usd_per_t
    before = {"holding": 0.0, "damage": 0.0, "freight": 0.0}
    for solution in alone.values():
        for key, value in _components(solution, tau).items():
            before[key] += value
    after = _components(joint, tau)
    free = config.model_copy(
        update={"costs": config.costs.model_copy(update={"transfer_cost_usd_per_t": 0.0})}
    )
    free_joint = build_model(free, scenarios, transfers=True).solve().expected_cost_usd
    return {
        "value_of_cooperation_usd": sum(before.values()) - sum(after.values()),
        "holdings_saved_usd": before["holding"] - after["holding"],
        "damage_avoided_usd": before["damage"] - after["damage"],
        "freight_paid_usd": after["freight"],
        "value_without_freight_usd": sum(before.values()) - free_joint,
        "exposure": exposure(scenarios),
    }
