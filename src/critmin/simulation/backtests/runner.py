"""Replay an episode (``episodes.yaml``) with its shipped rules and compare with history.

Each episode runs on the world of its time: the base state of its ``base_year`` (the element
chain's :func:`~critmin.simulation.elements.chain.calibrate` or the gallium and germanium
markets of that year), built by the same code as today's. Each target is a ratio the model
computes from its monthly results (model / base, or one window over another) beside the
cited observed ratio; the error is model - observed and the relative error model /
observed - 1. Beside the model stands the **cap**: the value the target would take if
China's exports were exactly the compiled legal cap (volume targets only); a model value
equal to it (:data:`CAP_TOLERANCE`) is a *cap replay*, a test of the rule file, not of the
market. Rule-file parameters (``approval_rate``, ``leakage``, ``processing_spread``) and the
market core's parameters can be overridden (:mod:`critmin.simulation.backtests.protocol`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from critmin.errors import unknown_value
from critmin.simulation.elements.chain import ZONES, calibrate
from critmin.simulation.elements.model import MAGNET, ElementResult, simulate_elements
from critmin.simulation.elements.single import SingleResult, simulate_single
from critmin.simulation.rules.compiler import Compiled, compile_rules
from critmin.simulation.rules.schema import RuleFile, load_rules

EPISODES_FILE = Path(__file__).with_name("episodes.yaml")
RULE_PARAMETERS = ("approval_rate", "leakage", "processing_spread", "held_share")
"""Rule-file parameters a backtest can override (every measure, or every licence)."""
PRICE_METRICS = frozenset({
    "export_unit_value_ratio", "price_spread", "magnet_spread_peak", "price_change",
    "single_price_change",
})  # fmt: skip
"""Metrics of prices (the rest are volumes)."""
CAP_TOLERANCE = 1e-6
"""A model value within this of the cap value (ratio units) is a cap replay."""


@cache
def episodes() -> dict[str, Any]:
    """Parsed ``episodes.yaml``."""
    data: dict[str, Any] = yaml.safe_load(EPISODES_FILE.read_text(encoding="utf-8"))
    return data


def episode_names() -> list[str]:
    """Names of the shipped backtests."""
    return list(episodes())


def _override(rule: RuleFile, values: Mapping[str, float]) -> RuleFile:
    """``rule`` with ``values`` of :data:`RULE_PARAMETERS` set on every measure (licence)."""
    for key in values:
        if key not in RULE_PARAMETERS:
            raise unknown_value("rule parameter", key, RULE_PARAMETERS)
    licence = {k: v for k, v in values.items() if k != "leakage"}
    measures = []
    for m in rule.measures:
        update: dict[str, Any] = {}
        if "leakage" in values:
            update["leakage"] = values["leakage"]
        if licence and m.licence is not None:
            update["licence"] = m.licence.model_copy(update=licence)
        measures.append(m.model_copy(update=update))
    return rule.model_copy(update={"measures": measures})


def _months(labels: list[str], window: list[str]) -> np.ndarray:
    idx = [k for k, lab in enumerate(labels) if window[0] <= lab <= window[1]]
    return np.array(idx, dtype=int)


def _china_exports(res: ElementResult, element: str | None = None) -> np.ndarray:
    """China's net exports (t/month, positive part) at oxide + metal stages."""
    els = res.base.elements
    flows = np.clip(res.stage["net_export"][:, :, :, 0], 0.0, None)  # [month, element, stage]
    if element is not None:
        out: np.ndarray = flows[:, els.index(element), :].sum(axis=1)
        return out
    total: np.ndarray = flows.sum(axis=(1, 2))
    return total


def _base_exports(res: ElementResult, element: str | None = None) -> float:
    b = res.base
    els = [element] if element else list(b.elements)
    total = 0.0
    for el in els:
        total += max(b.oxide_flow(el), 0.0)
        if el in b.magnet_elements:
            total += max(b.metal_flow(el), 0.0)
    return total / 12.0


def _unit_value_index(res: ElementResult) -> np.ndarray:
    """Export-weighted ex-China price index of China's exports (oxide + metal) by month."""
    b = res.base
    flows = np.clip(res.stage["net_export"][:, :, :, 0], 0.0, None)
    usd = np.zeros((len(b.elements), 2))
    for e, el in enumerate(b.elements):
        usd[e, 0] = b.oxide_usd_per_t[el]
        usd[e, 1] = b.metal_usd_per_t.get(el, 0.0)
    value = (flows * usd * res.price[:, :, :, 1]).sum(axis=(1, 2))
    weight = (flows * usd).sum(axis=(1, 2))
    out: np.ndarray = np.where(weight > 0, value / np.where(weight > 0, weight, 1.0), 1.0)
    return out


def _element_metric(res: ElementResult, target: dict[str, Any]) -> float:
    metric = target["metric"]
    k = _months(res.labels, target["window"])
    els = res.base.elements
    if metric == "export_volume_ratio":
        return float(_china_exports(res)[k].sum() / (_base_exports(res) * len(k)))
    if metric == "element_exports_ratio":
        el = target["element"]
        return float(_china_exports(res, el)[k].sum() / (_base_exports(res, el) * len(k)))
    if metric == "export_unit_value_ratio":
        return float(_unit_value_index(res)[k].mean())
    if metric == "magnet_exports_ratio":
        base = res.base.magnet_flow() / 12.0
        return float(np.clip(res.magnet["net_export"][k, 0], 0, None).sum() / (base * len(k)))
    if metric == "price_spread":
        e = els.index(target["element"])
        s = ("oxide", "metal").index(target["stage"])
        ratio = res.price[k, e, s, 1] / np.maximum(res.price[k, e, s, 0], 1e-9)
        return float(ratio.mean())
    if metric == "magnet_spread_peak":
        ratio = res.magnet_price[k, 1] / np.maximum(res.magnet_price[k, 0], 1e-9)
        return float(ratio.max())
    if metric == "price_change":
        e = els.index(target["element"])
        s = ("oxide", "metal").index(target["stage"])
        z = ZONES.index(target["zone"])
        return float(res.price[k, e, s, z].mean())
    raise unknown_value("metric", metric, _METRICS)


def _single_metric(
    results: dict[str, SingleResult], labels: list[str], target: dict[str, Any]
) -> float:
    res = results[target["element"]]
    k = _months(labels, target["window"])
    ref = target.get("reference")
    if target["metric"] == "single_exports_ratio":
        num = res.exports[k].sum()
        if ref is None:
            return float(num / (res.base_exports * len(k)))
        kr = _months(labels, ref)
        return float((num / len(k)) / (res.exports[kr].sum() / len(kr)))
    if target["metric"] == "single_price_change":
        z = ZONES.index(target["zone"])
        num = res.price[k, z].mean()
        if ref is None:
            return float(num)
        return float(num / res.price[_months(labels, ref), z].mean())
    raise unknown_value("metric", target["metric"], _METRICS)


_METRICS = (
    "export_volume_ratio", "element_exports_ratio", "export_unit_value_ratio",
    "magnet_exports_ratio", "price_spread", "magnet_spread_peak", "price_change",
    "single_exports_ratio", "single_price_change",
)  # fmt: skip


def _mean_allowed(path: np.ndarray | None, k: np.ndarray) -> float:
    return 1.0 if path is None else float(np.mean(path[k]))


def _element_cap(
    res: ElementResult, allowed: Mapping[tuple[str, str], np.ndarray], target: dict[str, Any]
) -> float:
    """The volume target's value if China's exports were exactly the compiled cap (allowed
    share x base flow, each (element, stage) weighted by its base flow); NaN for prices."""
    metric = target["metric"]
    k = _months(res.labels, target["window"])
    if metric == "magnet_exports_ratio":
        return _mean_allowed(allowed.get((MAGNET, MAGNET)), k)
    if metric not in ("export_volume_ratio", "element_exports_ratio"):
        return float("nan")
    b = res.base
    els = [target["element"]] if metric == "element_exports_ratio" else list(b.elements)
    capped = total = 0.0
    for el in els:
        flows = [("oxide", b.oxide_flow(el))]
        if el in b.magnet_elements:
            flows.append(("metal", b.metal_flow(el)))
        for stage, flow in flows:
            capped += max(flow, 0.0) * _mean_allowed(allowed.get((el, stage)), k)
            total += max(flow, 0.0)
    return capped / total


def _net(compiled: Compiled, element: str) -> np.ndarray | None:
    """Net monthly intake of ``element``'s licence pipeline (None without a licence)."""
    pipe = compiled.commodity_pipeline.get(element)
    return None if pipe is None else pipe.net


def _single_cap(compiled: Compiled, target: dict[str, Any]) -> float:
    """As :func:`_element_cap` for the gallium and germanium markets."""
    if target["metric"] != "single_exports_ratio":
        return float("nan")
    path = compiled.commodity.get(target["element"])
    cap = _mean_allowed(path, _months(compiled.labels, target["window"]))
    ref = target.get("reference")
    return cap if ref is None else cap / _mean_allowed(path, _months(compiled.labels, ref))


@dataclass(frozen=True)
class Replay:
    """A run of an episode: one row per target and the monthly and annual paths
    (:mod:`critmin.simulation.backtests.paths`)."""

    targets: pd.DataFrame
    paths: pd.DataFrame


def run_backtest(
    name: str,
    approval_rate: float | None = None,
    leakage: float | None = None,
    processing_spread: float | None = None,
    parameters: Mapping[str, float] | None = None,
    held_share: float | None = None,
) -> pd.DataFrame:
    """One row per target of episode ``name`` run on its base year: observed, model, cap
    (volume targets), whether the model replays the cap, error (model - observed), relative
    error. The rule-file values given override every measure's; ``parameters`` override the
    market core's (names of ``critmin.market.parameters.yaml``)."""
    return replay(name, approval_rate, leakage, processing_spread, parameters, False,
                  held_share).targets


def replay(
    name: str,
    approval_rate: float | None = None,
    leakage: float | None = None,
    processing_spread: float | None = None,
    parameters: Mapping[str, float] | None = None,
    with_paths: bool = True,
    held_share: float | None = None,
) -> Replay:
    """:func:`run_backtest`'s targets with the run's paths (empty unless ``with_paths``)."""
    from critmin.simulation.backtests.conditions import episode_shifts
    from critmin.simulation.backtests.paths import element_paths, single_paths

    spec = episodes().get(name)
    if spec is None:
        raise unknown_value("backtest", name, episode_names())
    values = {
        k: float(v)
        for k, v in (("approval_rate", approval_rate), ("leakage", leakage),
                     ("processing_spread", processing_spread), ("held_share", held_share))
        if v is not None
    }  # fmt: skip
    rules = [_override(load_rules(r), values) for r in spec["rules"]]
    compiled = compile_rules(rules, spec["start"], int(spec["months"]))
    labels = compiled.labels
    year = int(spec["base_year"])
    metric: Callable[[dict[str, Any]], tuple[float, float]]
    if spec["model"] == "elements":
        res = simulate_elements(
            compiled.shocks(),
            labels=labels,
            base=calibrate(year),
            parameters=parameters,
        )
        paths = element_paths(res, _unit_value_index(res)) if with_paths else None

        def metric(target: dict[str, Any]) -> tuple[float, float]:
            return _element_metric(res, target), _element_cap(res, compiled.allowed, target)
    else:
        shifts = episode_shifts(name, labels)
        single = {
            el: simulate_single(el, path, year=year, parameters=parameters,
                                known_from=compiled.known_from, held=_net(compiled, el),
                                shift=shifts.get(el))
            for el, path in compiled.commodity.items()
        }
        paths = single_paths(single, labels) if with_paths else None

        def metric(target: dict[str, Any]) -> tuple[float, float]:
            return _single_metric(single, labels, target), _single_cap(compiled, target)

    rows = []
    for target in spec["targets"]:
        model, cap = metric(target)
        observed = float(target["observed"])
        rows.append(
            {
                "episode": name,
                "target": target["id"],
                "label": target["label"],
                "kind": "price" if target["metric"] in PRICE_METRICS else "volume",
                "observed": observed,
                "model": model,
                "cap": cap,
                "cap_replay": bool(abs(model - cap) <= CAP_TOLERANCE),
                "error": model - observed,
                "relative_error": (model / observed - 1.0) if observed != 0 else float("nan"),
                "source": target["source"]["title"],
                "source_url": target["source"]["url"],
            }
        )
    return Replay(pd.DataFrame(rows), pd.DataFrame() if paths is None else paths)
