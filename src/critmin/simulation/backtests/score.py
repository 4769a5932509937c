"""The backtests' scorecard: held-out model values with intervals against naive baselines.

Each episode runs with the held-out parameter values of :mod:`protocol` (no parameter it
informed is taken from it). Around that run, an ensemble of ``draws`` runs draws every
held-out parameter uniformly in its range (prior and other episodes' estimates) and the
market core's behavioural parameters (:data:`ENSEMBLE`) in their low-high range of
``critmin.market.parameters.yaml``; the interval is the ensemble's 5-95 % range. Three naive
baselines predict every target: *no change* (every ratio 1), *cap only* (volumes at the
compiled cap, prices unchanged) and *last year's growth* (the change over the same span just
before the reference period, where ``episodes.yaml`` cites it). Targets that are cap replays,
or whose observed value is 0, are not scored. The error of a value ``x`` is
``|ln(x / observed)|``; the skill against a baseline over a set of scored targets is
``1 - sum(model errors) / sum(baseline errors)`` on the targets the baseline predicts
(> 0: the model is closer).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from critmin.market.params import parameter_table
from critmin.simulation.backtests.protocol import Value, check_held_out, held_out, scored_with
from critmin.simulation.backtests.runner import Replay, episode_names, episodes, replay

ENSEMBLE = (
    "demand_elasticity", "substitution_elasticity", "supply_elasticity",
    "curtailment_elasticity", "utilisation", "inventory_months", "holding_cost",
    "inventory_release_slope", "rebuild_months", "expectation_weight",
    "precautionary_elasticity",
)  # fmt: skip
"""Market-core parameters the element and Ga/Ge markets read, drawn in the ensemble."""
BASELINES = ("no_change", "cap_only", "last_year")
QUANTILES = (0.05, 0.95)
SEED = 20101
DRAWS = 32


def _draw(values: dict[str, Value], rng: np.random.Generator) -> dict[str, Value]:
    """One member: every ranged held-out value and :data:`ENSEMBLE` drawn uniformly."""
    table = parameter_table().set_index("name")[["low", "high"]].astype(float)
    ranges = {str(k): (float(lo), float(hi)) for k, lo, hi in table.itertuples()}
    out = {
        k: Value(
            v.parameter,
            v.kind,
            float(rng.uniform(v.low, v.high)),
            v.estimated_on,
            v.low,
            v.high,
            v.basis,
        )
        for k, v in values.items()
    }
    for name in ENSEMBLE:
        lo, hi = sorted(ranges[name])
        out[name] = Value(
            name, "market", float(rng.uniform(lo, hi)), (), lo, hi, "parameters.yaml range"
        )
    return out


def _last_year(episode: str) -> dict[str, float]:
    """Cited change over the span before each target's reference period (NaN if none)."""
    out = {}
    for target in episodes()[episode]["targets"]:
        prev = target.get("previous")
        out[target["id"]] = float(prev["value"]) if "value" in prev else float("nan")
    return out


def _log_error(x: float, observed: float) -> float:
    if not observed > 0:
        return float("nan")
    return abs(math.log(max(x, 1e-12) / observed))


def evaluate(
    episode: str, draws: int = DRAWS, seed: int = SEED, with_paths: bool = False
) -> Replay:
    """``episode`` with held-out parameters: one row per target (model, interval,
    baselines, whether scored, log errors) and, ``with_paths``, its monthly and annual paths
    with the ensemble's ``low`` and ``high``."""
    values = held_out(episode)
    check_held_out(episode, values)
    rule, market = scored_with(values)
    point = replay(episode, parameters=market or None, with_paths=with_paths, **rule)
    frame, paths = point.targets, point.paths
    rng = np.random.default_rng([seed, episode_names().index(episode)])
    models: list[np.ndarray] = []
    trails: list[np.ndarray] = []
    for _ in range(draws):
        r, m = scored_with(_draw(values, rng))
        member = replay(episode, parameters=m, with_paths=with_paths, **r)
        models.append(member.targets.model.to_numpy())
        if with_paths:
            trails.append(member.paths.value.to_numpy())
    ens = np.array(models) if models else frame.model.to_numpy()[None, :]
    frame["low"] = np.quantile(ens, QUANTILES[0], axis=0)
    frame["high"] = np.quantile(ens, QUANTILES[1], axis=0)
    if with_paths:
        band = np.array(trails) if trails else paths.value.to_numpy()[None, :]
        paths = paths.assign(
            low=np.quantile(band, QUANTILES[0], axis=0),
            high=np.quantile(band, QUANTILES[1], axis=0),
        )
    frame["within"] = (frame.observed >= frame.low) & (frame.observed <= frame.high)
    frame["no_change"] = 1.0
    frame["cap_only"] = np.where(frame.kind == "volume", frame.cap, 1.0)
    frame["last_year"] = frame.target.map(_last_year(episode))
    frame["scored"] = ~frame.cap_replay & (frame.observed > 0)
    for col in ("model", *BASELINES):
        frame[f"err_{col}"] = [
            _log_error(x, o) for x, o in zip(frame[col], frame.observed, strict=True)
        ]
    return Replay(frame, paths)


def score_episode(episode: str, draws: int = DRAWS, seed: int = SEED) -> pd.DataFrame:
    """The targets of :func:`evaluate` (no paths)."""
    return evaluate(episode, draws, seed).targets


def scorecard(draws: int = DRAWS, seed: int = SEED) -> pd.DataFrame:
    """:func:`score_episode` for every episode, one frame."""
    return pd.concat([score_episode(n, draws, seed) for n in episode_names()], ignore_index=True)


def skill(card: pd.DataFrame) -> pd.DataFrame:
    """Skill against each baseline per episode and overall, on all scored targets and on
    the scored price targets, with the number of targets it is computed on (those the
    baseline predicts)."""
    rows = []
    groups = [(n, card[card.episode == n]) for n in episode_names()] + [("all", card)]
    for name, part in groups:
        subsets = (("scored", part.scored), ("price", part.scored & (part.kind == "price")))
        for subset, sel in subsets:
            for base in BASELINES:
                use = part[sel & part[f"err_{base}"].notna()]
                denom = float(use[f"err_{base}"].sum())
                value = 1.0 - float(use.err_model.sum()) / denom if denom > 0 else float("nan")
                rows.append(
                    {
                        "episode": name,
                        "targets": subset,
                        "baseline": base,
                        "skill": value,
                        "n": len(use),
                    }
                )
    return pd.DataFrame(rows)


def parameters_used() -> pd.DataFrame:
    """The held-out value of every parameter for every episode, with its provenance."""
    rows = []
    for name in episode_names():
        for v in held_out(name).values():
            rows.append(
                {
                    "episode": name,
                    "parameter": v.parameter,
                    "value": v.value,
                    "low": v.low,
                    "high": v.high,
                    "estimated_on": ", ".join(v.estimated_on) or "(prior)",
                    "basis": v.basis,
                }
            )
    return pd.DataFrame(rows)
