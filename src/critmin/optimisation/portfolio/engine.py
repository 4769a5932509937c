"""The portfolio through the market model: allied gaps from a disruption scenario, and the
chosen portfolio and the no-support baseline re-simulated under the disruption ensemble.

Every call of the market engine goes through :func:`run_engine`, the one place to re-point
when the market core changes. Each pipeline project enters the scenario as a
``capacity_addition`` event (its country and stage, ``tonnes_per_year`` = ramp at the target
year x nameplate, online from the first month: a disruption of the simulated kind happening
when the capacity is there) that occurs with its probability of success (a Bernoulli draw per
sampled scenario). The two arms differ only in the supported projects' probability and ramp,
and use the same seed: common random numbers, so the difference is the support's effect.
Units: t of the stage unit over the scenario's horizon, USD (valued at the engine's base
price per stage), shares 0-1.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from critmin.errors import InputError
from critmin.optimisation.portfolio.config import PortfolioConfig
from critmin.optimisation.portfolio.inputs import CHINA, PortfolioInputs

ARMS = ("without_support", "with_support")
SHARE_DRAWS = 20  # central runs per arm for China's share (sampled project outcomes)


@dataclass
class EngineRun:
    """What the portfolio reads from one engine run (labels, not positions, across modules)."""

    shortfall: pd.DataFrame  # index (scenario, stage, country): t over the horizon
    production: pd.DataFrame | None  # index (stage, country): t over the horizon (central run)
    base_price: pd.Series  # USD per t of the stage unit, by stage
    allies: list[str]
    horizon_months: int
    manifest: dict[str, Any]


def run_engine(scenario: Any, samples: int, seed: int) -> EngineRun:
    """Run ``scenario`` (a :class:`critmin.simulation.scenario.Scenario`): its central run
    (``samples = 0``, with production by country) or an ensemble of ``samples`` scenarios.

    The only call of the market engine in the portfolio (today's public simulation API).
    """
    from critmin.network.groups import builtin_groups, resolve_members
    from critmin.simulation.runner import run_ensemble, simulate

    result = run_ensemble(scenario, samples, seed=seed) if samples > 0 else simulate(scenario)
    frame = result.totals()["shortfall"].drop_vars("unit", errors="ignore").to_series()
    production = None
    if result.kind == "central":
        production = (
            result.data["production"].sum("month").drop_vars("unit", errors="ignore").to_series()
        )
    return EngineRun(
        shortfall=frame.to_frame("shortfall_t"),
        production=None if production is None else production.to_frame("production_t"),
        base_price=pd.Series(result.data["base_price"].values, index=result.stages, dtype=float),
        allies=sorted(set(resolve_members(scenario.alliance, builtin_groups()))),
        horizon_months=scenario.horizon.months,
        manifest=result.manifest,
    )


def allied_shortfall(
    scenario_path: Path, samples: int, seed: int
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Gap items (one per stage), allied shortfall [gap, scenario] (t over the horizon) and
    equal scenario weights, from the engine's central run or ensemble."""
    from critmin.simulation.scenario import load_scenario

    scenario = load_scenario(scenario_path)
    run = run_engine(scenario, samples, seed)
    short = _allied(run).unstack("stage")  # [scenario, stage]
    stages = list(run.base_price.index)
    short = short.reindex(columns=stages, fill_value=0.0)
    gaps = pd.DataFrame(
        {
            "gap": [f"{scenario.commodity}.{s}" for s in stages],
            "commodity": scenario.commodity,
            "stage": stages,
            "product": None,
            "value_usd_per_t": run.base_price.to_numpy(float),
            "horizon_months": run.horizon_months,
        }
    ).set_index("gap")
    n = len(short)
    return gaps, short.to_numpy(float).T, np.full(n, 1.0 / n)


def _allied(run: EngineRun) -> pd.Series:
    """Allied shortfall by (scenario, stage), t over the horizon."""
    frame = run.shortfall["shortfall_t"]
    allies = frame.index.get_level_values("country").isin(run.allies)
    return frame[allies].groupby(level=["scenario", "stage"]).sum()


def _events(
    inputs: PortfolioInputs, chosen: list[str], commodity: str, stages: list[str], arm: str,
    outcome: dict[str, bool] | None,
) -> tuple[list[dict[str, Any]], list[str]]:  # fmt: skip
    """One capacity_addition event per pipeline project of ``commodity`` at a market stage;
    ``outcome`` fixes success (central runs), else it is a Bernoulli draw."""
    events: list[dict[str, Any]] = []
    skipped: list[str] = []
    supported = _supported(inputs, chosen if arm == "with_support" else [])
    rows: list[dict[str, Any]] = inputs.pipeline.to_dict(orient="records")  # type: ignore[assignment]
    for row in rows:
        pid = str(row["project_id"])
        if row["commodity"] != commodity:
            continue
        if row["stage"] not in stages:
            skipped.append(pid)
            continue
        p, ramp = supported.get(pid, (float(row["probability"]), float(row["ramp"])))
        tonnes = ramp * float(row["capacity_t"])  # kept at 0 too: both arms draw the same numbers
        occurs: Any = {"dist": "bernoulli", "p": p}
        if outcome is not None:
            occurs = 1.0 if outcome[pid] else 0.0
        events.append({"type": "capacity_addition", "name": f"project {pid}",
                       "country": row["country"], "stage": row["stage"],
                       "tonnes_per_year": tonnes, "online": 1, "ramp_months": 1,
                       "occurs": occurs})  # fmt: skip
    return events, skipped


def _supported(inputs: PortfolioInputs, chosen: list[str]) -> dict[str, tuple[float, float]]:
    """Probability of success and ramp of each supported project."""
    cands: dict[str, dict[str, Any]] = inputs.candidates.to_dict(orient="index")  # type: ignore[assignment]
    return {pid: (float(cands[pid]["probability_of_success"]), float(cands[pid]["ramp"]))
            for pid in chosen}  # fmt: skip


def _with_events(scenario: Any, events: list[dict[str, Any]]) -> Any:
    from critmin.simulation.scenario import parse_scenario

    raw = scenario.model_dump(mode="json")
    raw["events"] = [*raw["events"], *events]
    return parse_scenario(raw, f"{scenario.name} + portfolio")


def _band(values: np.ndarray, level: float) -> dict[str, float]:
    q = np.quantile(values, [(1 - level) / 2, 0.5, (1 + level) / 2])
    se = float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else float("nan")
    return {"mean": float(values.mean()), "mean_se": se, "low": float(q[0]),
            "median": float(q[1]), "high": float(q[2]), "level": level}  # fmt: skip


def engine_check(
    config: PortfolioConfig, inputs: PortfolioInputs, chosen: list[str]
) -> dict[str, Any]:
    """With- and without-support runs of the chosen portfolio under the disruption ensemble:
    allied shortfall (t by stage, USD), the shortfall avoided and China's share of output per
    stage, each with its central interval over the sampled scenarios."""
    from critmin.simulation.scenario import load_scenario

    spec = config.engine
    if spec is None:
        return {"status": "off", "reason": "engine: null in the config"}
    path = spec.scenario
    if path is None and config.gaps is not None and config.gaps.source == "simulation":
        path = config.gaps.scenario
    if path is None:
        reason = "no disruption scenario: set engine.scenario (or simulation gaps)"
        return {"status": "skipped", "reason": reason}
    scenario = load_scenario(path)
    probe = run_engine(scenario, 0, spec.seed)
    stages = list(probe.base_price.index)
    runs: dict[str, EngineRun] = {}
    skipped: list[str] = []
    for arm in ARMS:
        events, skipped = _events(inputs, chosen, scenario.commodity, stages, arm, None)
        runs[arm] = run_engine(_with_events(scenario, events), spec.samples, spec.seed)
    allied = {arm: _allied(run).unstack("stage").reindex(columns=stages, fill_value=0.0)
              for arm, run in runs.items()}  # fmt: skip
    value = {arm: (frame * probe.base_price).sum(axis=1).to_numpy(float)
             for arm, frame in allied.items()}  # fmt: skip
    avoided = value["without_support"] - value["with_support"]
    by_stage = []
    for stage in stages:
        before = allied["without_support"][stage].to_numpy(float)
        now = allied["with_support"][stage].to_numpy(float)
        by_stage.append({"stage": stage, "shortfall_without_support_t": float(before.mean()),
                         "shortfall_with_support_t": float(now.mean()),
                         "avoided_t": _band(before - now, spec.level)})  # fmt: skip
    return {
        "status": "ok",
        "scenario": str(path),
        "scenario_name": scenario.name,
        "samples": spec.samples,
        "seed": spec.seed,
        "method": "capacity_addition event per pipeline project (Bernoulli success); same seed "
        "for both arms (common random numbers); value at the engine's base price per stage",
        "allied_shortfall_value_usd": {arm: _band(v, spec.level) for arm, v in value.items()},
        "shortfall_avoided_usd": _band(avoided, spec.level),
        "by_stage": by_stage,
        "china_share": _china_share(config, inputs, chosen, scenario, stages),
        "projects_not_in_market_stages": skipped,
        "engine_manifest": {arm: run.manifest for arm, run in runs.items()},
    }


def _china_share(
    config: PortfolioConfig, inputs: PortfolioInputs, chosen: list[str], scenario: Any,
    stages: list[str],
) -> list[dict[str, Any]]:  # fmt: skip
    """China's share of world output per stage over the horizon, from central runs with
    project outcomes drawn (same uniforms in both arms); interval over the draws."""
    spec = config.engine
    assert spec is not None
    rng = np.random.default_rng(spec.seed)
    ids = [str(p) for p in inputs.pipeline["project_id"]]
    shares: dict[str, list[pd.Series]] = {arm: [] for arm in ARMS}
    for _ in range(SHARE_DRAWS):
        u = dict(zip(ids, rng.random(len(ids)), strict=True))
        for arm in ARMS:
            p = _probabilities(inputs, chosen, arm)
            outcome = {pid: bool(u[pid] < p[pid]) for pid in ids}
            events, _ = _events(inputs, chosen, scenario.commodity, stages, arm, outcome)
            run = run_engine(_with_events(scenario, events), 0, spec.seed)
            if run.production is None:
                raise InputError("engine: the central run returned no production by country")
            prod = run.production["production_t"].unstack("country")
            shares[arm].append(prod.get(CHINA, 0.0) / prod.sum(axis=1))
    rows = []
    for stage in stages:
        row: dict[str, Any] = {"stage": stage, "draws": SHARE_DRAWS}
        for arm in ARMS:
            row[arm] = _band(np.array([s[stage] for s in shares[arm]]), spec.level)
        rows.append(row)
    return rows


def _probabilities(inputs: PortfolioInputs, chosen: list[str], arm: str) -> dict[str, float]:
    probs = dict(zip(inputs.pipeline["project_id"].astype(str),
                     inputs.pipeline["probability"].astype(float), strict=True))  # fmt: skip
    if arm == "with_support":
        probs.update({pid: p for pid, (p, _) in _supported(inputs, chosen).items()})
    return probs
