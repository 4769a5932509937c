"""One ally in the confidential mode: its private inputs, its own LP and its process.

``python -m critmin.optimisation.stockpile.ally PRIVATE.npz`` reads that ally's file (its
shortfall scenarios, sector mix, market damages and loss curves, existing stocks,
consumption: nobody else's) and answers the
coordinator on standard input/output (``protocol``): for proposed flows to and from each
partner it returns its own cost of the proposal (USD) and its marginal cost of each flow
(USD/t), never its holdings, shortfalls or plan. At the end it writes its plan to
``PRIVATE.result.json`` beside its file. The formulation is in ``docs/methods/stockpile.md``,
section 4.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import linopy
import numpy as np
import pandas as pd
import xarray as xr

from critmin.console import quiet_stdout
from critmin.errors import CritminError, InfeasibleError, InputError
from critmin.optimisation.stockpile.config import StockpileConfig, parse_config
from critmin.optimisation.stockpile.model import (
    add_damage,
    add_stock_and_unmet,
    add_unmet_need,
    resolve_inputs,
    stock_cost,
)
from critmin.optimisation.stockpile.protocol import Message, receive, send
from critmin.optimisation.stockpile.scenarios import ScenarioSet, make_scenarios

RESULT_SUFFIX = ".result.json"


@dataclass(frozen=True)
class PrivateInputs:
    """What one ally knows: its own config part and its own scenarios, and the names of its
    partners (public)."""

    ally: str
    partners: list[str]
    config: StockpileConfig
    scenarios: ScenarioSet


SCALARS = tuple(f.name for f in fields(ScenarioSet) if "DataArray" not in str(f.type))
"""The :class:`ScenarioSet` fields that are not arrays (written into the file's ``meta``)."""


def write_private(path: Path, inputs: PrivateInputs) -> None:
    """Write one ally's private file (``.npz``, no pickles): its config and every labelled
    array of its scenario set (shortfalls, sector mix, market damages, loss curves, what a
    purchase moves), each cut to this ally where it has an ``ally`` dimension."""
    sc = inputs.scenarios
    arrays: dict[str, Any] = {}
    labels: dict[str, dict[str, list[Any]]] = {}
    for item in fields(sc):
        value = getattr(sc, item.name)
        if not isinstance(value, xr.DataArray):
            continue
        if "ally" in value.dims:
            value = value.sel(ally=[inputs.ally])
        if "source_ally" in value.dims:
            value = value.sel(source_ally=[inputs.ally])
        arrays[item.name] = value.values
        labels[item.name] = {str(d): value[d].values.tolist() for d in value.dims}
    meta = {
        "ally": inputs.ally,
        "partners": inputs.partners,
        "config": inputs.config.model_dump(mode="json"),
        "scenarios": {name: getattr(sc, name) for name in SCALARS},
        "labels": labels,
    }
    with path.open("wb") as handle:
        np.savez(handle, meta=np.array(json.dumps(meta)), **arrays)


def read_private(path: Path) -> PrivateInputs:
    """Read one ally's private file back into a one-ally config and scenario set."""
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
        arrays = {k: data[k] for k in data.files if k != "meta"}
    ally = str(meta["ally"])
    config = parse_config(meta["config"], str(path))
    labelled = {
        name: xr.DataArray(values, dims=tuple(meta["labels"][name]), coords=meta["labels"][name])
        for name, values in arrays.items()
    }
    shortfall = labelled.pop("shortfall").transpose("scenario", "month", "ally", "material")
    probability = labelled.pop("probability").values
    scenarios = make_scenarios(
        shortfall.values,
        probability,
        [ally],
        [str(m) for m in shortfall["material"].values],
        **labelled,
        **meta["scenarios"],
    )
    return PrivateInputs(ally, [str(p) for p in meta["partners"]], config, scenarios)


class AllyProblem:
    """One ally's LP with its flows to and from each partner fixed by the coordinator.

    Variables as in the joint model for this ally (holdings, releases, unmet need by sector)
    plus ``export`` to and ``import`` from each partner [scenario, month, partner, material]
    (t/month). Cost: holding and acquisition premium (``model.stock_cost``) + expected loss
    (``model.add_damage``: the linear damage or the convex loss of the shortfall left, as in
    the joint model) + freight of imports (USD; with a risk weight and one scenario the CVaR
    is that scenario's loss, so loss and freight are weighted by 1 + w). Only the flows'
    bounds change between proposals, so HiGHS re-solves from its last basis; the reduced
    costs of the fixed flows are the marginal costs returned.
    """

    def __init__(self, private: PrivateInputs) -> None:
        config, scenarios = private.config, private.scenarios
        inputs = resolve_inputs(config, scenarios)
        self.ally = private.ally
        self.inputs = inputs
        self.scenarios = scenarios
        m = linopy.Model()
        coords = {
            "scenario": pd.Index(scenarios.shortfall["scenario"].values, name="scenario"),
            "month": pd.Index(scenarios.shortfall["month"].values, name="month"),
            "partner": pd.Index(private.partners, name="partner"),
            "material": pd.Index(inputs.materials, name="material"),
        }
        ally = pd.Index([self.ally], name="ally")
        holding, release, unmet = add_stock_and_unmet(
            m, inputs, scenarios, [ally, coords["material"]]
        )
        flow_coords = [coords[k] for k in ("scenario", "month", "partner", "material")]
        export = m.add_variables(lower=0, coords=flow_coords, name="export")
        imported = m.add_variables(lower=0, coords=flow_coords, name="import")
        out = export.sum("partner").expand_dims(ally=[self.ally])
        into = imported.sum("partner").expand_dims(ally=[self.ally])
        m.add_constraints(out - release <= 0, name="ship_only_released")
        add_unmet_need(m, scenarios, unmet, release - out + into)
        weight = 1.0 + (inputs.risk_weight if scenarios.n_scenarios == 1 else 0.0)
        p = scenarios.probability * weight
        damage = (p * add_damage(m, inputs, unmet)).sum()
        freight = (p * inputs.transfer_cost_usd_per_t * imported).sum()
        m.add_objective(stock_cost(m, inputs, holding).sum() + damage + freight)
        self.model = m
        self.shape = tuple(len(coords[k]) for k in ("scenario", "month", "partner", "material"))
        labels = m.matrices.vlabels
        self._export = np.searchsorted(labels, export.labels.values.ravel()).astype(np.int32)
        self._import = np.searchsorted(labels, imported.labels.values.ravel()).astype(np.int32)
        self._flows = np.concatenate([self._export, self._import])
        self._cost = np.asarray(m.matrices.c, dtype=float).copy()
        self._material = self._material_of_columns(m, labels)
        self._holding = np.searchsorted(labels, holding.labels.values.ravel())
        with quiet_stdout():
            self.solver = m.to_highspy()
        self.solver.setOptionValue("output_flag", False)
        self._x = np.zeros(len(self._cost))

    @staticmethod
    def _material_of_columns(m: linopy.Model, labels: np.ndarray) -> np.ndarray:
        """The material index of each column of the solver's model (every variable has a
        material dimension: holdings, releases, unmet need, flows)."""
        material = np.full(len(labels), -1, dtype=np.int64)
        for name in m.variables:
            variable = m.variables[name]
            index = xr.DataArray(
                np.arange(variable.sizes["material"]), dims="material"
            ).broadcast_like(variable.labels)
            columns = variable.labels.values.ravel()
            kept = columns >= 0
            material[np.searchsorted(labels, columns[kept])] = index.values.ravel()[kept]
        if (material < 0).any():
            raise InfeasibleError("ally model: a column without a material")
        return material

    def evaluate(self, exports: np.ndarray, imports: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Own cost by material (USD; the LP is separable by material: no budget couples
        them) with the flows fixed, and its marginal cost of each flow (USD/t; exports then
        imports, each [scenario, month, partner, material])."""
        values = np.concatenate([exports.ravel(), imports.ravel()])
        if values.shape != self._flows.shape or (values < 0).any():
            raise InputError(f"ally {self.ally}: proposed flows of the wrong shape or < 0")
        self.solver.changeColsBounds(len(self._flows), self._flows, values, values)
        self.solver.run()
        status = self.solver.modelStatusToString(self.solver.getModelStatus())
        if status != "Optimal":
            self.solver.clearSolver()  # a cold start, once, before giving up
            self.solver.run()
            status = self.solver.modelStatusToString(self.solver.getModelStatus())
        if status != "Optimal":
            raise InfeasibleError(f"ally {self.ally}: HiGHS model status {status!r}")
        solution = self.solver.getSolution()
        self._x = np.asarray(solution.col_value, dtype=float)
        marginal = np.asarray(solution.col_dual, dtype=float)[self._flows]
        by_material = np.bincount(
            self._material, weights=self._cost * self._x, minlength=len(self.inputs.materials)
        )
        return by_material, marginal

    def plan(self) -> dict[str, Any]:
        """The last evaluated plan, for this ally's own result file (t, USD)."""
        holdings = dict(zip(self.inputs.materials, map(float, self._x[self._holding]), strict=True))
        return {"ally": self.ally, "holdings_t": holdings, "cost_usd": float(self._cost @ self._x)}


def serve(private_path: Path, inbox: Any, outbox: Any) -> None:
    """Answer the coordinator until it says ``stop`` (see the module docstring)."""
    try:
        problem = AllyProblem(read_private(private_path))
    except (CritminError, OSError, ValueError) as exc:
        send(outbox, "error", text=f"{type(exc).__name__}: {exc}")
        return
    send(outbox, "ready")
    while True:
        message: Message = receive(inbox)
        if message.kind == "stop":
            return
        try:
            by_material, marginal = problem.evaluate(
                message.arrays["exports"], message.arrays["imports"]
            )
            cost = float(by_material.sum())
        except (CritminError, KeyError) as exc:
            send(outbox, "error", text=f"{type(exc).__name__}: {exc}")
            return
        if message.kind == "finish":
            result = private_path.with_name(private_path.name + RESULT_SUFFIX)
            result.write_text(json.dumps(problem.plan(), indent=2) + "\n", encoding="utf-8")
            send(outbox, "settled", {"cost_usd": cost})
            continue
        half = marginal.size // 2
        send(
            outbox,
            "value",
            {"cost_usd": cost},
            {
                "cost_by_material_usd": by_material,
                "marginal_exports": marginal[:half].reshape(problem.shape),
                "marginal_imports": marginal[half:].reshape(problem.shape),
            },
        )


def main(argv: list[str]) -> None:
    """Process entry: keep file descriptor 1 for the protocol, send HiGHS's prints to 2."""
    outbox = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    serve(Path(argv[0]), sys.stdin.buffer, outbox)


if __name__ == "__main__":
    main(sys.argv[1:])
