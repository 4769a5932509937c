"""Confidential mode: the joint arrangement solved with each ally's data in its own process.

Resource-directive decomposition with a level bundle method (Lemarechal, Nemirovskii and
Nesterov 1995): the coordinator proposes the flows between allies; each ally's process
(``ally.py``, started as a separate OS process on its own file) answers with its own cost of
the proposal, by material, and its marginal cost of each flow. The coordinator keeps a
cutting-plane model of each ally's cost of each material, proposes the point nearest the best
proposal so far at which the model's total reaches a level between the model's minimum and
the best cost, and stops when the best proposal's cost (an upper bound: a consistent joint
plan) is within ``tolerance`` of the model's global minimum (a lower bound on the centralised
optimum) and the plan captures a certified share ``1 - value_tolerance`` of the value of
cooperation. Why this method and its equations: ``docs/methods/stockpile.md``, section 4.

The coordinator reads a public file only (allies, dimensions, transfer capacity); it is handed
the allies' file paths to pass on and never opens them (``tests/test_stockpile_confidential.py``
audits this and every message).
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import IO, Any

import clarabel
import highspy
import numpy as np
import xarray as xr
from scipy import sparse

from critmin.console import quiet_stdout
from critmin.errors import InfeasibleError, InputError
from critmin.optimisation.stockpile.ally import RESULT_SUFFIX, PrivateInputs, write_private
from critmin.optimisation.stockpile.arrangements import coalition
from critmin.optimisation.stockpile.config import (
    ExplicitScenario,
    ExplicitScenarios,
    StockpileConfig,
)
from critmin.optimisation.stockpile.protocol import Message, Record, receive, record, send
from critmin.optimisation.stockpile.scenarios import ScenarioSet

PUBLIC_FILE = "public.json"
PLACEHOLDER_SCENARIOS = ExplicitScenarios(cases=[ExplicitScenario(probability=1.0, shortfall_t={})])
LEVEL = 0.3  # the level lies this share of the gap below the best cost
QP_TOLERANCE = 1e-12  # Clarabel's duality gap tolerance in the level projection
FLOW_FLOOR_T = 1e-5  # a projected flow below this (t/month) is set to 0
MARGINAL_NOISE_USD_PER_T = 1e-7  # HiGHS's default dual feasibility tolerance
GAP_FLOOR = 1e-6
"""Relative gap (of the plan's cost) at which a run stops even if the value-of-cooperation test
has not passed: a value of cooperation that small is reported to that precision."""


@dataclass
class ConfidentialResult:
    """Outcome of the confidential mode (USD over the horizon; flows t/month).

    ``cost_usd`` is the cost of the agreed plan (each ally's own cost with the agreed flows
    fixed, summed), ``lower_bound_usd`` a bound below the centralised optimum, ``gap`` their
    relative difference; ``alone_cost_by_ally_usd`` each ally's cost with no flows (the first
    proposal). ``flows`` [scenario, month, ally (from), partner (to), material]. ``messages``
    lists what crossed a process boundary (names and shapes); ``result_files`` where each
    ally wrote its own plan."""

    cost_usd: float
    lower_bound_usd: float
    cost_by_ally_usd: dict[str, float]
    alone_cost_by_ally_usd: dict[str, float]
    flows: xr.DataArray
    iterations: int
    converged: bool
    seconds: float
    messages: list[Record] = field(default_factory=list)
    result_files: dict[str, Path] = field(default_factory=dict)

    @property
    def gap(self) -> float:
        return (self.cost_usd - self.lower_bound_usd) / max(abs(self.cost_usd), 1.0)

    @property
    def value_of_cooperation_usd(self) -> float:
        return sum(self.alone_cost_by_ally_usd.values()) - self.cost_usd

    @property
    def captured_share_lower_bound(self) -> float:
        """Certified least share of the value of cooperation the plan captures: (alone - plan)
        / (alone - lower bound), the bound being at least the true value (1 when both are 0)."""
        ceiling = sum(self.alone_cost_by_ally_usd.values()) - self.lower_bound_usd
        return 1.0 if ceiling <= 0.0 else self.value_of_cooperation_usd / ceiling

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (keys in docs/methods/stockpile.md, section 7)."""
        return {
            "cost": self.cost_usd,
            "lower_bound": self.lower_bound_usd,
            "gap": self.gap,
            "converged": self.converged,
            "iterations": self.iterations,
            "seconds": self.seconds,
            "cost_by_ally": self.cost_by_ally_usd,
            "alone_cost_by_ally": self.alone_cost_by_ally_usd,
            "value_of_cooperation": self.value_of_cooperation_usd,
            "captured_share_lower_bound": self.captured_share_lower_bound,
            "transfers_t": {
                f"{a}->{b}": float(self.flows.sel(ally=a, partner=b).sum())
                for a in self.flows["ally"].values
                for b in self.flows["partner"].values
                if a != b
            },
            "messages": len(self.messages),
            "result_files": {a: str(p) for a, p in self.result_files.items()},
            # the proposals depend on the level projection's solver (and the allies' HiGHS)
            "solvers": {name: version(name) for name in ("clarabel", "highspy")},
        }


def check_supported(config: StockpileConfig, scenarios: ScenarioSet) -> None:
    """One-line :class:`InputError` for what the confidential mode cannot solve exactly."""
    if len(config.allies) < 2:
        raise InputError("allies: the confidential mode needs at least two allies")
    if config.risk.risk_weight > 0 and scenarios.n_scenarios > 1:
        raise InputError(
            f"risk.risk_weight = {config.risk.risk_weight}: with {scenarios.n_scenarios} "
            "scenarios the CVaR of the allies' summed loss couples their costs; the "
            "confidential mode is risk-neutral unless one scenario is kept"
        )
    for a, spec in config.allies.items():
        if spec.max_t or spec.acquisition_budget_usd is not None:
            field_name = "max_t" if spec.max_t else "acquisition_budget_usd"
            raise InputError(
                f"allies.{a}.{field_name}: caps and budgets bound what an ally can ship, "
                "which the confidential mode does not yet model; solve it jointly"
            )
    cross = scenarios.release_cross
    if cross is not None:
        partners = cross.ally.values[:, None] != cross.source_ally.values[None, :]
        if bool((abs(cross) * xr.DataArray(partners, dims=("ally", "source_ally"))).any()):
            raise InputError(
                "scenarios.release_cross: a partner's releases cover shortfall at an ally's "
                "node, which couples the allies' own models; solve it jointly"
            )


def write_party_files(
    config: StockpileConfig, scenarios: ScenarioSet, folder: Path
) -> tuple[Path, dict[str, Path]]:
    """Split one config into a public file and one private file per ally in ``folder``.

    In a deployment each ally writes its own file from its own data; this is the step that
    makes the shipped single-file examples runnable."""
    check_supported(config, scenarios)
    folder.mkdir(parents=True, exist_ok=True)
    allies = list(config.allies)
    capacity = config.costs.transfer_capacity_t_per_month
    public = {
        "allies": allies,
        "materials": list(config.materials),
        "scenarios": scenarios.n_scenarios,
        "months": int(scenarios.shortfall.sizes["month"]),
        "transfer_capacity_t_per_month": capacity,
    }
    public_path = folder / PUBLIC_FILE
    public_path.write_text(json.dumps(public, indent=2) + "\n", encoding="utf-8")
    private = {}
    for a in allies:
        own_config, own_scenarios = coalition(config, scenarios, [a])
        # the scenarios travel as arrays in the ally's file; its config keeps none of the
        # others' cases
        own_config = own_config.model_copy(update={"scenarios": PLACEHOLDER_SCENARIOS})
        path = folder / f"{a}.npz"
        partners = [b for b in allies if b != a]
        write_private(path, PrivateInputs(a, partners, own_config, own_scenarios))
        path.chmod(0o600)
        private[a] = path
    return public_path, private


class _Party:
    """The coordinator's channel to one ally's process."""

    def __init__(self, ally: str, private_path: Path, log: list[Record]) -> None:
        self.ally = ally
        self.log = log
        self.errors: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 (closed in close())
        command = [sys.executable, "-m", "critmin.optimisation.stockpile.ally", str(private_path)]
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.errors
        )
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.inbox, self.outbox = self.process.stdout, self.process.stdin

    def send(self, kind: str, arrays: Mapping[str, np.ndarray] | None = None) -> None:
        self.log.append(record(f"to {self.ally}", send(self.outbox, kind, arrays=arrays)))

    def receive(self, expected: str) -> Message:
        try:
            message = receive(self.inbox)
        except InputError:
            self.errors.seek(0)
            tail = self.errors.read().decode("utf-8", "replace").strip().splitlines()[-1:]
            raise InfeasibleError(
                f"confidential mode, ally {self.ally}: its process stopped ({' '.join(tail)})"
            ) from None
        self.log.append(record(f"from {self.ally}", message))
        if message.kind == "error":
            raise InfeasibleError(f"confidential mode, ally {self.ally}: {message.text}")
        if message.kind != expected:
            raise InfeasibleError(
                f"confidential mode, ally {self.ally}: sent {message.kind!r}, not {expected!r}"
            )
        return message

    def close(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.send("stop")
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for stream in (self.outbox, self.inbox, self.errors):
            with contextlib.suppress(OSError):
                stream.close()


class _Master:
    """The coordinator's cutting-plane model of the allies' costs, one piece ``i`` per ally and
    material (an ally's LP is separable by material): ``m(z) = sum_i v_i``, ``v_i >= V_i(z_j)
    + g_ij (z - z_j)`` for every proposal ``j``, ``v_i >= 0`` (costs are never negative),
    ``0 <= z <= capacity``.

    The lower bound ``min m(z)`` is an LP (HiGHS, warm-started as cuts arrive); the level
    projection ``min 1/2 |z - zhat|^2`` subject to ``m(z) <= level`` a QP (Clarabel)."""

    def __init__(self, size: int, pieces: int, capacity: float | None) -> None:
        self.size, self.pieces, self.capacity = size, pieces, capacity
        self.upper = np.full(size, highspy.kHighsInf if capacity is None else capacity)
        with quiet_stdout():
            self.bound = highspy.Highs()  # type: ignore[no-untyped-call]
        self.bound.setOptionValue("output_flag", False)
        self.bound.addVars(size, np.zeros(size), self.upper)
        self.bound.addVars(pieces, np.zeros(pieces), np.full(pieces, highspy.kHighsInf))
        self.bound.changeColsCost(
            pieces, np.arange(size, size + pieces, dtype=np.int32), np.ones(pieces)
        )
        self.cut_rows: list[sparse.csr_array] = []  # g z - v_i <= g z_j - V_i(z_j), scaled
        self.cut_rhs: list[float] = []

    def add_cut(self, piece: int, value: float, slope: np.ndarray, at: np.ndarray) -> None:
        # reduced costs below the allies' dual feasibility tolerance are round-off (seen down
        # to 1e-14 USD/t); kept, they make the master ill-conditioned (HiGHS: status Unknown)
        slope = np.where(np.abs(slope) < MARGINAL_NOISE_USD_PER_T, 0.0, slope)
        nonzero = np.flatnonzero(slope)
        index = np.concatenate([nonzero, [self.size + piece]]).astype(np.int32)
        # each row divided by its largest coefficient: the same cut, better conditioned
        scale = max(float(np.abs(slope).max(initial=0.0)), 1.0)
        coefficients = np.concatenate([-slope[nonzero], [1.0]]) / scale
        rhs = (value - float(slope @ at)) / scale
        self.bound.addRow(rhs, highspy.kHighsInf, len(index), index, coefficients)
        self.cut_rows.append(
            sparse.csr_array(
                (-coefficients * scale, (np.zeros(len(index), dtype=np.int32), index)),
                shape=(1, self.size + self.pieces),
            )
        )
        self.cut_rhs.append(-rhs * scale)

    def lower_bound(self) -> tuple[np.ndarray, float]:
        """The model's global minimiser and minimum (a lower bound on the joint cost)."""
        self.bound.run()
        status = self.bound.modelStatusToString(self.bound.getModelStatus())
        if status != "Optimal":  # once more from scratch: a warm start can stall numerically
            self.bound.clearSolver()
            self.bound.run()
            status = self.bound.modelStatusToString(self.bound.getModelStatus())
        if status != "Optimal":
            raise InfeasibleError(f"confidential mode: coordinator's model {status!r}")
        x = np.asarray(self.bound.getSolution().col_value, dtype=float)
        return np.clip(x[: self.size], 0.0, self.upper), float(
            self.bound.getInfo().objective_function_value
        )

    def project(self, centre: np.ndarray, level: float) -> np.ndarray | None:
        """The point nearest ``centre`` (Euclidean) at which the model is at most ``level``;
        None if the QP solver does not finish (the caller then takes the model's minimiser)."""
        n, p = self.size, self.pieces
        columns = n + p
        hessian = sparse.diags_array(
            np.concatenate([np.ones(n), np.zeros(p)]), format="csc"
        ).astype(float)
        linear = np.concatenate([-centre, np.zeros(p)])
        level_row = sparse.csr_array(
            (np.ones(p), (np.zeros(p, dtype=np.int32), np.arange(n, columns))), shape=(1, columns)
        )
        # costs in units of the level (v = level u) and each cut divided by its largest
        # coefficient: the interior-point solver sees numbers near 1
        unit = max(abs(level), 1.0)
        cuts = sparse.vstack(self.cut_rows, format="csr") @ sparse.diags_array(
            np.concatenate([np.ones(n), np.full(p, unit)])
        )
        norm = np.maximum(abs(cuts).max(axis=1).toarray().ravel(), 1e-12)
        cuts = sparse.diags_array(1.0 / norm) @ cuts
        blocks = [cuts, level_row, -sparse.eye_array(columns, format="csr")]
        rhs = [*(np.asarray(self.cut_rhs) / norm), level / unit, *np.zeros(columns)]
        if self.capacity is not None:
            blocks.append(sparse.eye_array(n, columns, format="csr"))
            rhs.extend(np.full(n, self.capacity))
        constraints = sparse.vstack(blocks, format="csc")
        settings = clarabel.DefaultSettings()
        settings.verbose = False
        settings.tol_gap_abs = settings.tol_gap_rel = QP_TOLERANCE
        solver = clarabel.DefaultSolver(
            sparse.triu(hessian, format="csc"), linear, constraints, np.asarray(rhs, float),
            [clarabel.NonnegativeConeT(len(rhs))], settings,
        )  # fmt: skip
        solution = solver.solve()
        if str(solution.status) not in ("Solved", "AlmostSolved"):
            return None
        z = np.clip(np.asarray(solution.x, dtype=float)[:n], 0.0, self.upper)
        # an interior point stops near, not on, the bound z >= 0
        return np.where(z < FLOW_FLOOR_T, 0.0, z)


def coordinate(
    public_path: Path,
    private_paths: Mapping[str, Path],
    tolerance: float = 1e-4,
    max_iterations: int = 500,
    progress: Callable[[int, float, float], None] | None = None,
    value_tolerance: float = 1e-2,
) -> ConfidentialResult:
    """Run the confidential mode: one process per ally on its file, flows and marginal costs
    exchanged until the plan's cost is within ``tolerance`` of the lower bound and the gap is
    at most ``value_tolerance`` of the certified bound on the value of cooperation (the allies'
    costs alone minus the lower bound), so that the plan captures at least ``1 -
    value_tolerance`` of the value of cooperation (or the gap is below :data:`GAP_FLOOR`).

    ``progress(iteration, cost, lower_bound)`` is called after each proposal."""
    started = time.perf_counter()
    public = json.loads(Path(public_path).read_text(encoding="utf-8"))
    allies = [str(a) for a in public["allies"]]
    if sorted(allies) != sorted(private_paths):
        raise InputError(f"allies: files given for {sorted(private_paths)}, expected {allies}")
    pairs = [(a, b) for a in allies for b in allies if a != b]
    block = (int(public["scenarios"]), int(public["months"]), len(public["materials"]))
    size = len(pairs) * int(np.prod(block))
    log: list[Record] = []
    parties = {a: _Party(a, Path(private_paths[a]), log) for a in allies}
    try:
        for party in parties.values():
            party.receive("ready")
        materials = len(public["materials"])
        master = _Master(size, len(allies) * materials, public["transfer_capacity_t_per_month"])
        layout = _Layout(allies, pairs, block)
        material_of = np.broadcast_to(np.arange(materials), (len(pairs), *block)).ravel()

        def evaluate(z: np.ndarray, kind: str = "propose") -> dict[str, Message]:
            for a, party in parties.items():
                exports, imports = layout.split(z, a)
                party.send(kind, {"exports": exports, "imports": imports})
            reply = "settled" if kind == "finish" else "value"
            return {a: party.receive(reply) for a, party in parties.items()}

        def cost(answers: Mapping[str, Message]) -> float:
            return sum(m.scalars["cost_usd"] for m in answers.values())

        def add_cuts(z: np.ndarray, answers: Mapping[str, Message]) -> None:
            for i, a in enumerate(allies):
                slope = layout.join(
                    a, answers[a].arrays["marginal_exports"], answers[a].arrays["marginal_imports"]
                )
                by_material = answers[a].arrays["cost_by_material_usd"]
                if by_material.shape != (materials,):
                    raise InfeasibleError(
                        f"confidential mode, ally {a}: material costs of shape "
                        f"{by_material.shape}, expected ({materials},)"
                    )
                for j in range(materials):
                    piece = np.where(material_of == j, slope, 0.0)
                    master.add_cut(i * materials + j, float(by_material[j]), piece, z)

        best = np.zeros(size)
        answers = evaluate(best)
        alone = {a: m.scalars["cost_usd"] for a, m in answers.items()}
        alone_total = sum(alone.values())
        add_cuts(best, answers)
        upper_bound = cost(answers)
        lower_bound, iteration, converged = 0.0, 0, False
        for iteration in range(1, max_iterations + 1):
            anywhere, lower_bound = master.lower_bound()
            gap = upper_bound - lower_bound
            scale = max(abs(upper_bound), 1.0)
            captured = gap <= value_tolerance * (alone_total - lower_bound)
            if gap <= tolerance * scale and (captured or gap <= GAP_FLOOR * scale):
                converged = True
                break
            projected = master.project(best, upper_bound - LEVEL * gap)
            trial = anywhere if projected is None else projected  # Kelley's step if need be
            answers = evaluate(trial)
            add_cuts(trial, answers)
            value = cost(answers)
            if value < upper_bound:
                best, upper_bound = trial, value
            if progress is not None:
                progress(iteration, upper_bound, lower_bound)
        settled = evaluate(best, "finish")
        by_ally = {a: m.scalars["cost_usd"] for a, m in settled.items()}
    finally:
        for party in parties.values():
            party.close()
    results = {a: Path(str(private_paths[a]) + RESULT_SUFFIX) for a in allies}
    return ConfidentialResult(
        cost_usd=sum(by_ally.values()),
        lower_bound_usd=lower_bound,
        cost_by_ally_usd=by_ally,
        alone_cost_by_ally_usd=alone,
        flows=layout.flows(best, allies, [str(m) for m in public["materials"]]),
        iterations=iteration,
        converged=converged,
        seconds=time.perf_counter() - started,
        messages=log,
        result_files=results,
    )


class _Layout:
    """The coordinator's flow vector: one block [scenario, month, material] per ordered pair
    (from, to) of allies; each ally sees its exports and imports [scenario, month, partner,
    material]."""

    def __init__(self, allies: list[str], pairs: list[tuple[str, str]], block: tuple[int, ...]):
        self.allies, self.pairs, self.block = allies, pairs, block
        self.index = {pair: i for i, pair in enumerate(pairs)}

    def _blocks(self, z: np.ndarray) -> np.ndarray:
        return z.reshape((len(self.pairs), *self.block))

    def split(self, z: np.ndarray, ally: str) -> tuple[np.ndarray, np.ndarray]:
        blocks = self._blocks(z)
        partners = [b for b in self.allies if b != ally]
        exports = np.stack([blocks[self.index[ally, b]] for b in partners], axis=2)
        imports = np.stack([blocks[self.index[b, ally]] for b in partners], axis=2)
        return exports, imports

    def join(self, ally: str, exports: np.ndarray, imports: np.ndarray) -> np.ndarray:
        """An ally's [scenario, month, partner, material] values back into a flow vector."""
        blocks = np.zeros((len(self.pairs), *self.block))
        for j, b in enumerate(b for b in self.allies if b != ally):
            blocks[self.index[ally, b]] += exports[:, :, j, :]
            blocks[self.index[b, ally]] += imports[:, :, j, :]
        return blocks.ravel()

    def flows(self, z: np.ndarray, allies: list[str], materials: list[str]) -> xr.DataArray:
        blocks = self._blocks(z)
        full = np.zeros((*self.block[:2], len(allies), len(allies), self.block[2]))
        for (a, b), i in self.index.items():
            full[:, :, allies.index(a), allies.index(b), :] = blocks[i]
        return xr.DataArray(
            full,
            dims=("scenario", "month", "ally", "partner", "material"),
            coords={"ally": allies, "partner": allies, "material": materials},
            attrs={"units": "t/month"},
        )


def decomposed_solve(
    config: StockpileConfig,
    scenarios: ScenarioSet,
    folder: Path | None = None,
    **options: Any,
) -> ConfidentialResult:
    """Write the party files of ``config`` (into ``folder``, else a temporary folder that is
    removed afterwards, with the allies' result files) and run :func:`coordinate`."""
    if folder is not None:
        public, private = write_party_files(config, scenarios, folder)
        return coordinate(public, private, **options)
    with tempfile.TemporaryDirectory(prefix="critmin-confidential-") as tmp:
        public, private = write_party_files(config, scenarios, Path(tmp))
        result = coordinate(public, private, **options)
        result.result_files = {}
        return result
